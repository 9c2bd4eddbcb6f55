"""The frame loop: what the run session reports, shown in the window's views at most once a frame.

``RunPresenter`` listens to the ``RunSession`` (its state, a run starting, steps arriving, a run
finishing) and, paced by a ``FrameThrottle``, draws what changed since the last frame: the
controls' state and settings, the panel's newest steps, the inspector, the speed. It draws; the
session decides, and the main window only arranges the views it is given.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from arstudio.core.modality import step_unit
from arstudio.engine.messages import ModelInfo, RunSummary, StepBatch
from arstudio.engine.record import RunRecord
from arstudio.qt.controls import ControlsPanel
from arstudio.qt.inspector import Inspector
from arstudio.qt.panel import ModalityPanel
from arstudio.qt.sampler.session import IDLE, RunSession, RunSettings
from arstudio.qt.throttle import FrameThrottle

FAST_DRAW_BUDGET = 0.025  # share of the GUI thread's time spent drawing while sampling at unlimited speed
PACED_DRAW_BUDGET = 0.10  # ... while sampling at a set speed (up to ~30 frames a second)


class RunPresenter(QObject):
    """Draws the session's run into the controls, the panel, the inspector and two status labels."""

    message_posted = Signal(str, int)  # status-bar text, for how many milliseconds
    problem_found = Signal(str, str)  # title, one-line message

    def __init__(self, session: RunSession, controls: ControlsPanel, inspector: Inspector, state_label: QLabel,
                 speed_label: QLabel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.controls, self.inspector = session, controls, inspector
        self.state_label, self.speed_label = state_label, speed_label
        self.panel: ModalityPanel | None = None
        self.frames = FrameThrottle(self.draw, parent=self)
        self.speed = 0.0  # smoothed steps per second of the current run (0 when none runs)
        self._drawn_record: RunRecord | None = None
        self._drawn_filled = 0
        self._finished: RunSummary | None = None
        session.state_changed.connect(self.request_frame)
        session.run_started.connect(self.request_frame)
        session.steps_sampled.connect(self.on_steps)
        session.run_finished.connect(self.on_finished)

    def set_panel(self, panel: ModalityPanel | None) -> None:
        """Draw runs into ``panel`` from now on."""
        self.panel = panel

    def request_frame(self, *_: object) -> None:
        """Draw with the next frame."""
        self.frames()

    def model_loaded(self, info: ModelInfo) -> None:
        """A model was loaded: an empty panel for the session's batch, a cleared inspector."""
        if self.panel is not None:
            self.panel.set_model(info, self.session.settings.batch)
        self.inspector.set_step_unit(step_unit(info.spec.layout.modality))
        self.inspector.clear()
        self._drawn_record = None

    def apply_settings(self, settings: RunSettings) -> None:
        """Give the session the controls' settings; while idle the panel shows an empty canvas of the new size."""
        s = self.session
        s.set_settings(settings)
        if s.state == IDLE and s.model is not None and self.panel is not None:
            self.panel.set_model(s.model, s.settings.batch)

    def on_steps(self, _record: RunRecord, batch: StepBatch) -> None:
        """Steps arrived: note the speed and draw with the next frame.

        At unlimited speed the window draws a few frames a second: the run is over before anyone
        could follow it, and the drawing's CPU time (and, with ARSTUDIO_SAMPLER=thread, the GIL
        it holds) would be taken from sampling. At a set speed the sampler waits anyway.
        """
        self.frames.budget = FAST_DRAW_BUDGET if self.session.rate is None else PACED_DRAW_BUDGET
        if batch.steps_per_s > 0:
            self.speed = batch.steps_per_s if self.speed == 0 else 0.8 * self.speed + 0.2 * batch.steps_per_s
        self.frames()

    def on_finished(self, summary: RunSummary) -> None:
        """A run ended: its error is a problem; a completed run's summary is shown with the next frame."""
        if summary.error:
            self.problem_found.emit("Sampling failed", summary.error)
        elif not summary.cancelled:
            self._finished = summary
        self.speed = 0.0
        self.frames()

    def draw(self) -> None:
        """Show the session as it is now, at most once a frame: state, settings, the run's newest steps."""
        s, panel = self.session, self.panel
        if self.controls.state != s.state:
            self.controls.set_state(s.state)
            self.state_label.setText(s.state)
        if self.controls.settings() != s.settings:
            self.controls.show_settings(s.settings)
        record = s.record
        if record is not self._drawn_record:
            self._drawn_record, self._drawn_filled = record, 0
            if record is None:
                if s.model is not None and panel is not None:
                    panel.set_model(s.model, s.settings.batch)
                self.inspector.clear()
            else:
                if panel is not None:
                    panel.begin_run(record)
                self.inspector.begin_run(record)
        if record is not None and record.filled > self._drawn_filled:
            self._drawn_filled = record.filled
            if panel is not None:
                panel.show_steps(record)
            self.inspector.steps_arrived(record)
        if self.speed > 0:
            self.speed_label.setText(f"{self.speed:,.0f} steps/s")
        if self._finished is not None:
            done, self._finished = self._finished, None
            self.speed_label.setText(f"{done.steps_per_s:,.0f} steps/s")
            self.message_posted.emit(f"Done: {done.steps} steps in {done.seconds:.2f} s", 5000)
