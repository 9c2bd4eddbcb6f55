"""The GUI thread's side of generation: run ids, play / pause / step / reset, branches, stale-run filtering.

``RunSession`` owns the sampler: a child process by default (``arstudio.qt.sampler.process``, no
GIL shared with the window), or a worker thread (``ARSTUDIO_SAMPLER=thread``, or
``RunSession(sampler="thread")``); both send the same signals. It turns the user's gestures into ``RunRequest``s and
``RunControl`` calls, drops whatever a run that is no longer current sends, keeps the current
run's ``RunRecord``, and re-emits only current data for panels and views.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from arstudio.core.policy import SamplingPolicy
from arstudio.engine.messages import Condition, ModelInfo, RunInfo, RunPlan, RunRequest, RunSummary, StepBatch
from arstudio.qt.gc_guard import install_gui_collector
from arstudio.engine.record import RunRecord
from arstudio.qt.sampler.thread import ThreadSampler

IDLE, RUNNING, PAUSED, FINISHED = "idle", "running", "paused", "finished"


@dataclass(frozen=True)
class RunSettings:
    """What the controls set for the next run."""

    batch: int = 16
    seed: int = 0
    policy: SamplingPolicy = field(default_factory=SamplingPolicy)
    ordering: int = 0


class RunSession(QObject):
    """Starts, steers and filters runs of the worker; the one place that knows the current run id."""

    checkpoint_loaded = Signal(object)  # ModelInfo
    checkpoint_failed = Signal(str)
    run_started = Signal(object)  # RunRecord (empty, of the new run)
    steps_sampled = Signal(object, object)  # RunRecord, the StepBatch just added to it
    run_finished = Signal(object)  # RunSummary
    state_changed = Signal(str)
    loading_started = Signal(str)

    def __init__(self, parent: QObject | None = None, sampler: str | None = None) -> None:
        super().__init__(parent)
        self.settings = RunSettings()
        self.model: ModelInfo | None = None
        self.record: RunRecord | None = None
        self.state = IDLE
        self.rate: float | None = None
        self.condition: Condition | None = None  # what a conditional model's next runs are given (the panel's choice)
        self.plan = RunPlan()  # what a panel asked the next runs to keep (a prompt, a length, an end value)
        self.dropped = 0  # messages from stale runs, dropped
        self._run_id = 0
        self._control: Any = None  # RunControl or RemoteControl of the current run
        self.sampler_kind = sampler or os.environ.get("ARSTUDIO_SAMPLER", "") or "process"
        if self.sampler_kind == "process":
            from arstudio.qt.sampler.process import ProcessSampler

            self.sampler: Any = ProcessSampler(self)
        elif self.sampler_kind == "thread":
            self.sampler = ThreadSampler(self)
        else:
            raise ValueError(f"ARSTUDIO_SAMPLER must be 'process' or 'thread', got {self.sampler_kind!r}")
        self.sampler.checkpoint_loaded.connect(self._on_loaded)
        self.sampler.checkpoint_failed.connect(self._on_load_failed)
        self.sampler.run_started.connect(self._on_run_started)
        self.sampler.steps_sampled.connect(self._on_steps)
        self.sampler.run_finished.connect(self._on_finished)
        # Only the GUI thread collects cycles, from a timer (arstudio.qt.gc_guard); make_app installs it too.
        app = QCoreApplication.instance()
        if app is not None:
            install_gui_collector(app)

    # ---- requests from the GUI -------------------------------------------------------------
    @property
    def run_id(self) -> int:
        """Id of the current run (0 before the first)."""
        return self._run_id

    def load(self, path: str | Path) -> None:
        """Load a checkpoint in the sampler; the current run is cancelled first."""
        self._cancel()
        self._set_state(IDLE)
        self.loading_started.emit(str(path))
        self.sampler.load(str(path))

    def set_settings(self, settings: RunSettings) -> None:
        """Settings for the next run; a run in progress restarts with them, keeping play or pause."""
        changed = settings != self.settings
        self.settings = settings
        if changed and self.state in (RUNNING, PAUSED):
            self.start(paused=self.state == PAUSED)

    def set_rate(self, rate: float | None) -> None:
        """Steps per second (None or 0 = unlimited), applied to the running loop at once."""
        rate = rate or None
        self.rate = rate
        if self._control is not None:
            self._control.set_rate(rate)

    def set_condition(self, condition: Condition | None) -> None:
        """What the next runs of a conditional model are given (a panel's choice); a run under way restarts."""
        changed = condition != self.condition
        self.condition = condition
        if changed and self.state in (RUNNING, PAUSED):
            self.start(paused=self.state == PAUSED)

    def cond(self, batch: int) -> np.ndarray | None:
        """Each of ``batch`` samples' condition [B, ...], or None (no condition, or the model takes none)."""
        if self.model is None or not self.model.spec.cond or self.condition is None:
            return None
        return self.condition.for_batch(batch)

    def complete(self, given: np.ndarray, mask: np.ndarray, paused: bool = False) -> int:
        """Sample every place outside ``mask`` given the values ``given`` [D] at the places in it (kept exactly)."""
        return self.start(paused=paused, given=(np.asarray(given), np.asarray(mask, dtype=bool)))

    def set_plan(self, plan: RunPlan, start: bool = False) -> int:
        """Follow ``plan`` in the next runs (plays, steps, restarts); with ``start``, start one now."""
        self.plan = plan
        return self.start() if start else self._run_id

    def start(self, paused: bool = False, prefix: np.ndarray | None = None,
              forced: dict[int, np.ndarray] | None = None,
              given: tuple[np.ndarray, np.ndarray] | None = None, steps: int | None | str = "plan") -> int:
        """Start a new run with the current settings (a branch when ``prefix``/``forced`` are given).

        ``steps``: how many steps this run takes (None: the whole layout); by default the plan's.
        """
        if self.model is None:
            return self._run_id
        self._cancel()
        self._run_id += 1
        s, plan = self.settings, self.plan
        batch = plan.batch or s.batch
        if prefix is None and given is None and plan.prefix is not None and len(plan.prefix):
            prefix = np.broadcast_to(np.asarray(plan.prefix), (batch, len(plan.prefix))).copy()
        req = RunRequest(self._run_id, batch, s.seed, s.policy, s.ordering, prefix, dict(forced or {}),
                         self.cond(batch), *(given or (None, None)), steps=plan.steps if steps == "plan" else steps,
                         stop_value=plan.stop_value)
        self._control = self.sampler.new_control(req.run_id, paused, self.rate)
        self._set_state(PAUSED if paused else RUNNING)
        self.sampler.run(req, self._control)
        return self._run_id

    def play(self) -> None:
        """Resume a paused run, or start a new one (after a finished run, with the next seed)."""
        if self.state == PAUSED and self._control is not None:
            self._control.resume()
            self._set_state(RUNNING)
        elif self.state in (IDLE, FINISHED):
            if self.state == FINISHED:
                self.settings = replace(self.settings, seed=self.settings.seed + 1)
            self.start()

    def toggle_play(self) -> None:
        """Pause a running run; otherwise play."""
        if self.state == RUNNING:
            self.pause()
        else:
            self.play()

    def pause(self) -> None:
        """Stop before the next sampled step."""
        if self.state == RUNNING and self._control is not None:
            self._control.pause()
            self._set_state(PAUSED)

    def step_once(self) -> None:
        """Sample one more step (starting a paused run if there is none)."""
        if self.state in (IDLE, FINISHED):
            if self.state == FINISHED:
                self.settings = replace(self.settings, seed=self.settings.seed + 1)
            self.start(paused=True)
        elif self.state == RUNNING:
            self.pause()
        if self._control is not None:
            self._control.step_once()

    def reset(self) -> None:
        """Cancel the run and clear the canvas."""
        self._cancel()
        self._run_id += 1  # anything still in flight is stale now
        self.record = None
        self._set_state(IDLE)

    def branch(self, step: int, sample: int, value: float) -> int:
        """Force ``value`` at ``step`` of ``sample`` and go on sampling from there (a new run)."""
        if self.record is None or step >= self.record.filled:
            return self._run_id
        prefix, forced = self.record.branch(step, sample, value)
        plan, self.plan = self.plan, replace(self.plan, batch=self.record.batch)  # the branch keeps its samples
        try:
            return self.start(paused=self.state == PAUSED, prefix=prefix, forced=forced)
        finally:
            self.plan = plan

    def cancel(self) -> None:
        """Tell the sampler to stop the current run at its next step (nothing else changes; see ``reset``)."""
        self._cancel()

    def shutdown(self, timeout_ms: int = 5000, process_grace_ms: int | None = None) -> bool:
        """Cancel the run and stop the sampler (join its thread or process); True when it stopped in time.

        ``process_grace_ms``: with a sampling process, how long it may take to quit before it is
        terminated (a process, unlike a thread, can be stopped mid-step).
        """
        self._cancel()
        if process_grace_ms is not None and self.sampler_kind == "process":
            timeout_ms = process_grace_ms
        return bool(self.sampler.shutdown(timeout_ms))

    def _cancel(self) -> None:
        if self._control is not None:
            self._control.cancel()
            self._control = None

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # ---- what the worker sends -------------------------------------------------------------
    @Slot(object)
    def _on_loaded(self, info: ModelInfo) -> None:
        self.model = info
        self.record = None
        self.plan = RunPlan()
        if self.settings.ordering >= info.num_orderings:
            self.settings = replace(self.settings, ordering=0)
        self._set_state(IDLE)
        self.checkpoint_loaded.emit(info)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self.checkpoint_failed.emit(message)

    @Slot(object)
    def _on_run_started(self, info: RunInfo) -> None:
        if info.run_id != self._run_id:
            self.dropped += 1
            return
        self.record = RunRecord(info)
        self.run_started.emit(self.record)

    @Slot(object)
    def _on_steps(self, batch: StepBatch) -> None:
        self.sampler.batch_taken()
        if batch.run_id != self._run_id or self.record is None or self.record.run_id != batch.run_id:
            self.dropped += 1
            return
        self.record.add(batch)
        self.steps_sampled.emit(self.record, batch)

    @Slot(object)
    def _on_finished(self, summary: RunSummary) -> None:
        if summary.run_id != self._run_id:
            self.dropped += 1
            return
        if self.record is not None:
            self.record.finished = summary.error is None and not summary.cancelled
        self._control = None
        self._set_state(FINISHED)
        self.run_finished.emit(summary)
