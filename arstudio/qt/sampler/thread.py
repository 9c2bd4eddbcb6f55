"""The generation worker in a thread: a QObject that owns the model, its calls run as jobs of a ``JobRunner``.

The GUI thread never touches the model. It asks for a checkpoint (``load_checkpoint``) or a run
(``run``) as jobs of the sampler's worker thread, and steers a running loop through a ``RunControl``. The loop
itself is ``arstudio.engine.sampling.sample_run``; what comes back is plain data
(``arstudio.engine.messages``). The studio samples in a child process instead
(``arstudio.qt.sampler.process``), which sends the same signals; this in-thread worker is the
fallback (``ARSTUDIO_SAMPLER=thread``) and what most GUI tests drive, being quicker to start.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from arstudio.core.checkpoint import CheckpointError
from arstudio.core.protocol import ARModel
from arstudio.engine.messages import RunInfo, RunRequest, RunSummary
from arstudio.engine.sampling import (FREE_UPDATES_PER_S, MAX_IN_FLIGHT, MAX_UPDATES_PER_S, InFlight, PackedBatch,
                                      RunControl, open_model, sample_run)
from arstudio.qt.gc_guard import no_cyclic_gc
from arstudio.qt.jobs import JobRunner

__all__ = ["FREE_UPDATES_PER_S", "MAX_IN_FLIGHT", "MAX_UPDATES_PER_S", "GenerationWorker", "RunControl",
           "ThreadSampler"]


class GenerationWorker(QObject):
    """Owns the model; loads checkpoints and runs the one generation loop (called in the worker thread).

    Its signals are emitted from the thread that calls it, so they reach GUI-thread receivers queued.
    """

    checkpoint_loaded = Signal(object)  # ModelInfo
    checkpoint_failed = Signal(str)
    run_started = Signal(object)  # RunInfo
    steps_sampled = Signal(object)  # StepBatch
    run_finished = Signal(object)  # RunSummary

    def __init__(self, max_updates_per_s: float = MAX_UPDATES_PER_S) -> None:
        super().__init__()
        self.min_interval = 1.0 / max_updates_per_s
        self._model: ARModel | None = None
        self.in_flight = InFlight()

    def batch_taken(self) -> None:
        """The GUI took one emitted batch (called from the GUI thread)."""
        self.in_flight.taken()

    @Slot(str)
    def load_checkpoint(self, path: str) -> None:
        """Load a checkpoint file; emit ``checkpoint_loaded`` or ``checkpoint_failed`` with one line."""
        with no_cyclic_gc():  # no collection in this thread (see arstudio.qt.gc_guard)
            try:
                model, info = open_model(path)
            except CheckpointError as e:
                self.checkpoint_failed.emit(str(e))
                return
            self.set_model(model)
            self.checkpoint_loaded.emit(info)

    def set_model(self, model: ARModel) -> None:
        """Use ``model`` for the next runs (call from the worker thread, or before it starts)."""
        self._model = model

    @Slot(object, object)
    def run(self, request: RunRequest, control: RunControl) -> None:
        """Sample one run as ``request`` says, steered by ``control``, emitting batched steps.

        The cyclic GC stays off meanwhile: a collection triggered here could finalize the GUI
        thread's Qt objects, and its pause is taken from sampling (the GUI thread collects after
        the run; a step's objects are freed by reference counting anyway).
        """
        with no_cyclic_gc():
            sample_run(self._model, request, control, self._send, self.in_flight, self.min_interval)

    def _send(self, message: object) -> None:
        if isinstance(message, PackedBatch):
            self.steps_sampled.emit(message.unpack())
        elif isinstance(message, RunInfo):
            self.run_started.emit(message)
        elif isinstance(message, RunSummary):
            self.run_finished.emit(message)
        else:
            raise TypeError(f"unexpected message {type(message).__name__}")


class ThreadSampler(QObject):
    """The session's sampler backed by a ``GenerationWorker`` whose calls are jobs of a ``JobRunner``.

    A newer load or run skips an older one still waiting (the session has cancelled it already).
    Same interface as ``arstudio.qt.sampler.process.ProcessSampler``: the worker's five signals,
    ``load``, ``run``, ``new_control``, ``batch_taken``, ``alive`` and ``shutdown``.
    """

    checkpoint_loaded = Signal(object)  # ModelInfo
    checkpoint_failed = Signal(str)
    run_started = Signal(object)  # RunInfo
    steps_sampled = Signal(object)  # StepBatch
    run_finished = Signal(object)  # RunSummary

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = GenerationWorker()
        self.jobs = JobRunner("arstudio-generation", self)
        # the worker's signals, forwarded (queued to this object's thread, then re-emitted)
        self.worker.checkpoint_loaded.connect(self.checkpoint_loaded)
        self.worker.checkpoint_failed.connect(self.checkpoint_failed)
        self.worker.run_started.connect(self.run_started)
        self.worker.steps_sampled.connect(self.steps_sampled)
        self.worker.run_finished.connect(self.run_finished)

    def load(self, path: str) -> None:
        """Load ``path`` in the worker thread."""
        self.jobs.submit_to("load", self.worker.load_checkpoint, path)

    def new_control(self, run_id: int, paused: bool, rate: float | None) -> RunControl:
        """Flags for run ``run_id``."""
        return RunControl(paused=paused, rate=rate)

    def run(self, request: RunRequest, control: RunControl) -> None:
        """Start ``request`` in the worker thread (after whatever it is doing now)."""
        self.jobs.submit_to("run", self.worker.run, request, control)

    def batch_taken(self) -> None:
        """The GUI took one batch."""
        self.worker.batch_taken()

    def alive(self) -> bool:
        """True while the worker thread runs."""
        return self.jobs.is_running()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the worker thread (the session cancels the run first); True when it stopped in time."""
        return self.jobs.shutdown(timeout_ms)
