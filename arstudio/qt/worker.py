"""The generation worker: a QObject living in its own QThread that owns the model and runs ``generate``.

The GUI thread never touches the model. It asks for a checkpoint (``load_checkpoint``) or a run
(``run``) through queued signals, and steers a running loop through a ``RunControl``, whose
thread-safe flags (pause, step once, speed, cancel) the loop checks between steps. What comes
back is plain data (``arstudio.qt.messages``), batched so that the GUI redraws at most about 60
times a second however fast the model samples.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from arstudio.core.checkpoint import CheckpointError
from arstudio.core.device import choose_device, describe
from arstudio.core.generate import Step, generate
from arstudio.core.protocol import ARModel
from arstudio.io.text import open_checkpoint
from arstudio.qt.gc_guard import no_cyclic_gc
from arstudio.qt.messages import ModelInfo, RunInfo, RunRequest, RunSummary, StepBatch

MAX_UPDATES_PER_S = 60.0
FREE_UPDATES_PER_S = 20.0  # at unlimited speed: the window draws a few frames a second then (see MainWindow)
MAX_IN_FLIGHT = 2  # batches emitted but not yet taken by the GUI; beyond that the worker keeps accumulating


class RunControl:
    """Thread-safe flags for one run: pause, step once, speed (steps/s, None = unlimited), cancel."""

    def __init__(self, paused: bool = False, rate: float | None = None) -> None:
        self._cond = threading.Condition()
        self._paused = paused
        self._budget = 0
        self._rate = rate
        self._cancelled = False

    @property
    def paused(self) -> bool:
        """True while the run waits for resume or step once."""
        with self._cond:
            return self._paused

    @property
    def cancelled(self) -> bool:
        """True once the run has been told to stop."""
        with self._cond:
            return self._cancelled

    def _set(self, **kw: object) -> None:
        with self._cond:
            for k, v in kw.items():
                setattr(self, "_" + k, v)
            self._cond.notify_all()

    def pause(self) -> None:
        """Stop before the next sampled step."""
        self._set(paused=True, budget=0)

    def resume(self) -> None:
        """Go on sampling at the current speed."""
        self._set(paused=False, budget=0)

    def step_once(self) -> None:
        """While paused, allow one more sampled step."""
        with self._cond:
            self._budget += 1
            self._cond.notify_all()

    def set_rate(self, rate: float | None) -> None:
        """Steps per second, or None for as fast as the model samples."""
        self._set(rate=None if rate is None or rate <= 0 or math.isinf(rate) else float(rate))

    def cancel(self) -> None:
        """Stop the run at the next check; the worker then emits ``run_finished``."""
        self._set(cancelled=True)

    def _wait_s(self, last: float) -> float:
        if self._cancelled:
            return 0.0
        if self._paused:
            return 0.0 if self._budget > 0 else math.inf
        if self._rate is None:
            return 0.0
        return max(0.0, last + 1.0 / self._rate - time.monotonic())

    def free_running(self) -> bool:
        """True while nothing holds the loop back (not paused or cancelled, unlimited speed).

        Read without the lock: each flag is one attribute read, atomic under the GIL, and a change
        racing with this read is seen at the next step.
        """
        return not self._paused and not self._cancelled and self._rate is None

    def wait_s(self, last: float) -> float:
        """How long the next sampled step would wait now (inf while paused), given the previous step's time."""
        with self._cond:
            return self._wait_s(last)

    def wait_turn(self, last: float) -> bool:
        """Block until the next sampled step may run; False when the run was cancelled meanwhile."""
        with self._cond:
            while True:
                if self._cancelled:
                    return False
                if self._paused and self._budget > 0:
                    self._budget -= 1
                    return True
                wait = self._wait_s(last)
                if wait <= 0:
                    return True
                self._cond.wait(None if math.isinf(wait) else wait)


class GenerationWorker(QObject):
    """Owns the model in the worker thread; loads checkpoints and runs the one generation loop."""

    checkpoint_loaded = Signal(object)  # ModelInfo
    checkpoint_failed = Signal(str)
    run_started = Signal(object)  # RunInfo
    steps_sampled = Signal(object)  # StepBatch
    run_finished = Signal(object)  # RunSummary

    def __init__(self, max_updates_per_s: float = MAX_UPDATES_PER_S) -> None:
        super().__init__()
        self.min_interval = 1.0 / max_updates_per_s
        self._model: ARModel | None = None
        self._lock = threading.Lock()
        self._in_flight = 0

    def batch_taken(self) -> None:
        """The GUI took one emitted batch (called from the GUI thread)."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def _count_in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @Slot(str)
    def load_checkpoint(self, path: str) -> None:
        """Load a checkpoint file; emit ``checkpoint_loaded`` or ``checkpoint_failed`` with one line."""
        with no_cyclic_gc():  # no collection in this thread (see arstudio.qt.gc_guard)
            self._load(path)

    def _load(self, path: str) -> None:
        try:
            device = choose_device()
            model, meta = open_checkpoint(path, device=device)  # a .safetensors file, or a GPT-2 folder
        except CheckpointError as e:
            self.checkpoint_failed.emit(str(e))
            return
        except Exception as e:  # a broken file must never take the studio down
            self.checkpoint_failed.emit(f"{path}: could not be loaded ({type(e).__name__}: {e})")
            return
        self.set_model(model)
        p = Path(path)
        self.checkpoint_loaded.emit(ModelInfo(p, p.stem, model.spec, meta, int(model.num_orderings),
                                              describe(device), model.num_parameters()))

    def set_model(self, model: ARModel) -> None:
        """Use ``model`` for the next runs (call from the worker thread, or before it starts)."""
        self._model = model

    @Slot(object, object)
    def run(self, request: RunRequest, control: "RunControl") -> None:
        """Sample one run as ``request`` says, steered by ``control``, emitting batched steps.

        The cyclic GC stays off meanwhile: a collection triggered here could finalize the GUI
        thread's Qt objects, and its pause is taken from sampling (the GUI thread collects after
        the run; a step's objects are freed by reference counting anyway).
        """
        with no_cyclic_gc():
            self._run(request, control)

    def _run(self, request: RunRequest, control: "RunControl") -> None:
        t_start = time.monotonic()
        if control.cancelled:
            self.run_finished.emit(RunSummary(request.run_id, 0, 0.0, cancelled=True))
            return
        model = self._model
        if model is None:
            self.run_finished.emit(RunSummary(request.run_id, 0, 0.0, error="no model is loaded"))
            return
        emitter = _Emitter(self, request.run_id)
        done = 0
        try:
            model.select_ordering(request.ordering)
            layout = model.layout
            request = request.resolved(layout.order_array())  # given pixels -> kept prefix and forced steps
            self.run_started.emit(RunInfo(request.run_id, request.batch, layout.length, tuple(layout.shape),
                                          layout.order_array().copy(), request))
            prefix = None
            if request.prefix is not None:
                prefix = torch.as_tensor(request.prefix, dtype=model.data_dtype(), device=model.device)
            forced = {int(t): torch.as_tensor(v, dtype=model.data_dtype(), device=model.device)
                      for t, v in request.forced.items()}
            cond = None if request.cond is None else torch.as_tensor(request.cond, dtype=torch.long, device=model.device)
            total = layout.length if request.steps is None else max(0, min(int(request.steps), layout.length))
            steps = generate(model, batch=request.batch, policy=request.policy, seed=request.seed,
                             prefix=prefix, forced=forced, cond=cond, steps=total)
            last = -math.inf
            ended = False
            while done < total:
                free = control.free_running()
                if free:
                    pass  # the common case at full speed: no lock, no clock
                elif control.cancelled:
                    break
                elif not request.is_free(done):
                    if control.wait_s(last) >= self.min_interval:
                        emitter.flush(force=True)  # show everything before a visible wait
                    if not control.wait_turn(last):
                        break
                    last = time.monotonic()
                step = next(steps, None)
                if step is None:
                    break
                emitter.add(step, free)
                done += 1
                if request.stop_value is not None and not step.forced and np.all(step.value == request.stop_value):
                    ended = True  # every sample wrote the end value
                    break
            emitter.flush(force=True)
            self.run_finished.emit(RunSummary(request.run_id, done, time.monotonic() - t_start,
                                              cancelled=done < total and not ended))
        except Exception as e:  # report, never raise into Qt's event loop
            emitter.flush(force=True)
            self.run_finished.emit(RunSummary(request.run_id, done, time.monotonic() - t_start,
                                              error=f"{type(e).__name__}: {e}"))


class _Emitter:
    """Collects steps and emits them as one ``StepBatch`` at most every ``min_interval`` seconds."""

    def __init__(self, worker: GenerationWorker, run_id: int) -> None:
        self.worker = worker
        self.run_id = run_id
        self.pending: list[Step] = []
        self.last_emit = time.monotonic()
        self.steps_since = 0

    def add(self, step: Step, free: bool = False) -> None:
        """Keep ``step``; emit the pending ones if the last batch is old enough.

        ``free``: the run samples at unlimited speed. Every batch wakes the GUI thread, which then
        holds the GIL that sampling needs, so batches go out less often (still in time for the
        few frames a second the window draws at that speed).
        """
        self.pending.append(step)
        interval = max(self.worker.min_interval, 1.0 / FREE_UPDATES_PER_S) if free else self.worker.min_interval
        if time.monotonic() - self.last_emit >= interval:
            self.flush(interval=interval)

    def flush(self, force: bool = False, interval: float | None = None) -> None:
        if not self.pending:
            return
        now = time.monotonic()
        elapsed = now - self.last_emit
        interval = self.worker.min_interval if interval is None else interval
        if not force and (elapsed < interval or self.worker._count_in_flight() >= MAX_IN_FLIGHT):
            return
        p = self.pending
        batch = StepBatch(
            run_id=self.run_id,
            t=np.fromiter((s.t for s in p), dtype=np.int64, count=len(p)),
            index=np.fromiter((s.index for s in p), dtype=np.int64, count=len(p)),
            values=np.stack([np.asarray(s.value) for s in p]),
            log_prob=np.stack([np.asarray(s.log_prob) for s in p]),
            forced=np.fromiter((s.forced for s in p), dtype=bool, count=len(p)),
            views=[s.view for s in p],
            steps_per_s=len(p) / elapsed if elapsed > 0 else 0.0,
        )
        self.pending = []
        self.last_emit = now
        with self.worker._lock:
            self.worker._in_flight += 1
        self.worker.steps_sampled.emit(batch)
