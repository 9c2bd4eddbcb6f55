"""The frame loop: what the run session reports, shown in the window's views at most once a frame.

``RunPresenter`` listens to the ``RunSession`` (its state, a run starting, steps arriving, a run
finishing) and, paced by a ``FrameThrottle``, draws what changed since the last frame: the
controls' state and settings, the panel's newest steps, the inspector, the speed. It draws; the
session decides, and the main window only arranges the views it is given.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from arstudio.core.modality import step_unit
from arstudio.engine.messages import ModelInfo, RunSummary, StepBatch
from arstudio.engine.record import RunRecord
from arstudio.qt.controls import ControlsPanel
from arstudio.qt.inspector import Inspector
from arstudio.qt.panel import ModalityPanel
from arstudio.qt.sampler.session import IDLE, RUNNING, RunSession, RunSettings
from arstudio.qt.throttle import FrameThrottle

FAST_DRAW_BUDGET = 0.025  # share of the GUI thread's time spent drawing while sampling at unlimited speed
PACED_DRAW_BUDGET = 0.10  # ... while sampling at a set speed (up to ~30 frames a second)
MODEL_LIMIT = 0.85  # below this share of the set speed, the model (not the speed setting) is what limits a run


def rate_text(speed: float, rate: float | None) -> str:
    """'110 steps/s', and when a set speed is out of the model's reach, '· the model is the limit (set 500)'."""
    text = f"{speed:,.0f} steps/s" if speed >= 10 else f"{speed:.2g} steps/s"
    if rate is not None and 0 < speed < MODEL_LIMIT * rate:
        text += f" · the model is the limit (set {rate:g})"
    return text


class RunClock:
    """The time one run spent sampling: the seconds while it ran and the steps it made then (pauses left out).

    ``follow`` is told the run, whether it runs and how many steps it has, whenever that may have
    changed; ``clock`` is injectable (tests use a fake one).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.run_id = -1
        self.seconds = 0.0  # running time of the run's closed stretches
        self.steps = 0  # steps made in them
        self.stretches = 0  # how many times the run started or resumed
        self.paused = 0.0  # seconds between its stretches
        self._since: float | None = None  # when the open stretch began (None: paused or over)
        self._stopped: float | None = None  # when the last stretch ended
        self._from = 0  # steps the run had then

    def follow(self, run_id: int, running: bool, filled: int) -> None:
        """The run ``run_id`` runs now (or not) and has ``filled`` steps."""
        if run_id != self.run_id:
            self.run_id, self.seconds, self.steps, self.stretches, self.paused = run_id, 0.0, 0, 0, 0.0
            self._since = self._stopped = None
        if running and self._since is None:
            self._since, self._from = self.clock(), filled
            if self._stopped is not None:
                self.paused += self._since - self._stopped
            self.stretches += 1
        elif not running and self._since is not None:
            self._stopped = self.clock()
            self.seconds += self._stopped - self._since
            self.steps += max(0, filled - self._from)
            self._since = None

    def running_time(self, filled: int | None = None) -> tuple[int, float]:
        """(steps, seconds) sampled while running, the open stretch up to now (at ``filled`` steps) included."""
        if self._since is None or filled is None:
            return self.steps, self.seconds
        return self.steps + max(0, filled - self._from), self.seconds + self.clock() - self._since

    def rate(self, filled: int | None = None) -> float:
        """Steps per second of running time (0 before any)."""
        steps, seconds = self.running_time(filled)
        return steps / seconds if seconds > 0 else 0.0


def done_text(total: int, seconds: float, paused: float) -> str:
    """What a finished run of ``total`` steps says: the seconds it sampled, and the pauses left out of them."""
    if seconds <= 0:
        return f"Done: {total} steps, stepped by hand"
    text = f"Done: {total} steps in {seconds:.2f} s"
    if paused >= 0.5:
        text += f" of sampling ({paused:.1f} s paused not counted)"
    return text


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
        self.clock = RunClock()  # the running time of the current run, pauses left out
        self._stretch = (-1, 0)  # the run and stretch of the clock the speed was last measured in
        self._drawn_record: RunRecord | None = None
        self._drawn_filled = 0
        self._finished: RunSummary | None = None
        session.state_changed.connect(self.on_state)
        session.run_started.connect(self.on_state)
        session.steps_sampled.connect(self.on_steps)
        session.run_finished.connect(self.on_finished)

    def set_panel(self, panel: ModalityPanel | None) -> None:
        """Draw runs into ``panel`` from now on."""
        self.panel = panel

    def request_frame(self, *_: object) -> None:
        """Draw with the next frame."""
        self.frames()

    def _filled(self) -> int:
        s = self.session
        return s.record.filled if s.record is not None and s.record.run_id == s.run_id else 0

    def on_state(self, *_: object) -> None:
        """The run started, paused, resumed or ended: time it, and draw with the next frame."""
        self.clock.follow(self.session.run_id, self.session.state == RUNNING, self._filled())
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
        stretch = (self.clock.run_id, self.clock.stretches)
        if stretch != self._stretch:  # the first batch after a resume: its time includes the pause
            self._stretch = stretch
            if self.clock.stretches > 1:
                self.frames()
                return
        if batch.steps_per_s > 0 and self.session.state == RUNNING:
            self.speed = batch.steps_per_s if self.speed == 0 else 0.8 * self.speed + 0.2 * batch.steps_per_s
        self.frames()

    def on_finished(self, summary: RunSummary) -> None:
        """A run ended: its error is a problem; a completed run's summary is shown with the next frame."""
        if summary.error:
            self.problem_found.emit("Sampling failed", summary.error)
        elif not summary.cancelled:
            self._finished = summary
        self.clock.follow(summary.run_id, False, self._filled())
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
            self.speed_label.setText(rate_text(self.speed, s.rate))
        if self._finished is not None:
            done, self._finished = self._finished, None
            steps, seconds = self.clock.running_time()
            self.speed_label.setText(rate_text(steps / seconds, s.rate) if seconds > 0 and steps else "")
            self.message_posted.emit(done_text(done.steps, seconds, self.clock.paused), 5000)
