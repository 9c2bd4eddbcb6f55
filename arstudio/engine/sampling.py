"""The studio's sampling loop, free of Qt: what the generation worker runs, in a thread or a process.

``sample_run`` runs the one generation loop (``arstudio.core.generate``) for a ``RunRequest``,
steered by a ``RunControl`` whose thread-safe flags (pause, step once, speed, cancel) it checks
between steps, and hands what it samples to a ``send`` callback as plain data
(``arstudio.engine.messages``), batched so that the GUI redraws at most about 60 times a second
however fast the model samples. ``arstudio.qt.sampler.thread`` runs it in a QThread,
``arstudio.qt.sampler.process`` in a child process; both send the same messages.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from arstudio.core.checkpoint import CheckpointError
from arstudio.core.device import choose_device, describe
from arstudio.core.generate import Step, generate
from arstudio.core.protocol import ARModel
from arstudio.core.formats import open_checkpoint
from arstudio.engine.messages import DistFormat, ModelInfo, RunInfo, RunRequest, RunSummary, StepBatch, StepDists

MAX_UPDATES_PER_S = 60.0
FREE_UPDATES_PER_S = 20.0  # unlimited speed: the window draws a few frames a second (qt/presenter.py's RunPresenter)
MAX_IN_FLIGHT = 2  # batches sent but not yet taken by the GUI; beyond that the loop keeps accumulating

Send = Callable[[object], None]  # takes a RunInfo, PackedBatch or RunSummary


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
        """Stop the run at the next check; the loop then sends its ``RunSummary``."""
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


class InFlight:
    """How many sent batches the GUI has not taken yet (thread-safe): the loop's back-pressure."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0

    def sent(self) -> None:
        """One more batch went out."""
        with self._lock:
            self._n += 1

    def taken(self) -> None:
        """The GUI took one batch."""
        with self._lock:
            self._n = max(0, self._n - 1)

    @property
    def count(self) -> int:
        """Batches sent and not yet taken."""
        with self._lock:
            return self._n


def open_model(path: str, device: torch.device | None = None) -> tuple[ARModel, ModelInfo]:
    """Load a checkpoint (a ``.safetensors`` file or a GPT-2 folder) and describe it for the GUI.

    Raises ``CheckpointError`` with one line for anything that cannot be loaded.
    """
    device = choose_device() if device is None else device
    try:
        model, meta = open_checkpoint(path, device=device)
    except CheckpointError:
        raise
    except Exception as e:  # a broken file must never take the studio down
        raise CheckpointError(f"{path}: could not be loaded ({type(e).__name__}: {e})") from e
    p = Path(path)
    return model, ModelInfo(p, p.stem, model.spec, meta, int(model.num_orderings), describe(device),
                            model.num_parameters())


def sample_run(model: ARModel | None, request: RunRequest, control: RunControl, send: Send,
               in_flight: InFlight, min_interval: float = 1.0 / MAX_UPDATES_PER_S) -> RunSummary:
    """Sample one run as ``request`` says, steered by ``control``; ``send`` gets every message.

    Sends a ``RunInfo``, ``PackedBatch``es, then the ``RunSummary`` it also returns. Never raises:
    an error ends the run and is reported in the summary.
    """
    t_start = time.monotonic()

    def finish(summary: RunSummary) -> RunSummary:
        send(summary)
        return summary

    if control.cancelled:
        return finish(RunSummary(request.run_id, 0, 0.0, cancelled=True))
    if model is None:
        return finish(RunSummary(request.run_id, 0, 0.0, error="no model is loaded"))
    emitter = Emitter(send, request.run_id, in_flight, min_interval)
    done = 0
    try:
        model.select_ordering(request.ordering)
        layout = model.layout
        emitter.order = layout.order_array()
        request = request.resolved(layout.order_array())  # given pixels -> kept prefix and forced steps
        send(RunInfo(request.run_id, request.batch, layout.length, tuple(layout.shape),
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
                if control.wait_s(last) >= min_interval:
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
        return finish(RunSummary(request.run_id, done, time.monotonic() - t_start,
                                 cancelled=done < total and not ended))
    except Exception as e:  # report, never raise into the caller's event loop
        emitter.flush(force=True)
        return finish(RunSummary(request.run_id, done, time.monotonic() - t_start,
                                 error=f"{type(e).__name__}: {e}"))


@dataclass
class PackedBatch:
    """A batch of steps as the loop collects it: one array per field, the distributions compact.

    ``dists`` holds, per step and sample, the top ``TOP_K`` entries and the rest mass (or a small
    density curve), never a whole large support: a batch pickles in ~0.1 ms, and neither the pipe
    nor the GUI's record carries 256 levels (or a vocabulary) per step.
    """

    run_id: int
    t: np.ndarray  # [n]
    index: np.ndarray  # [n]
    values: np.ndarray  # [n, B]
    log_prob: np.ndarray  # [n, B]
    forced: np.ndarray  # [n] bool
    steps_per_s: float
    dists: StepDists | None  # None when the loop made no views

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def unpack(self) -> StepBatch:
        """The ``StepBatch`` the GUI works with (the same arrays)."""
        return StepBatch(self.run_id, self.t, self.index, self.values, self.log_prob, self.forced, self.dists,
                         self.steps_per_s)


class Emitter:
    """Collects steps and sends them as one ``PackedBatch`` at most every ``min_interval`` seconds.

    Each step is copied into preallocated arrays at once, its distribution already compact
    (``DistFormat``), and the step itself let go, so that the loop keeps no per-step objects (they
    would hold their tensors' memory) and a batch needs no stacking when it goes out. A step whose
    distribution has another format than the batch's (never seen with one model) sends the batch
    so far first.
    """

    def __init__(self, send: Send, run_id: int, in_flight: InFlight, min_interval: float,
                 order: np.ndarray | None = None) -> None:
        self.send = send
        self.run_id = run_id
        self.order = order  # step -> flat index (the layout's), so that steps need not carry it
        self.in_flight = in_flight
        self.min_interval = min_interval
        self.last_emit = time.monotonic()
        self.sent = 0  # batches sent so far
        self.n = 0
        self.cap = 0
        self._next_cap = 64  # the last batch's capacity: the next one starts as large
        self.format: DistFormat | None = None
        self.top: np.ndarray | None = None
        self.rest: np.ndarray | None = None

    def _grow(self, step: Step) -> None:
        """Room for more steps: the first step sets the shapes and the format, a full buffer doubles."""
        cap = max(self._next_cap, 2 * self.cap)
        view = step.view
        if self.cap == 0:
            fmt = self.format = None if view is None else DistFormat(view)
            self.top = self.rest = None
            self.t0 = step.t  # a batch holds consecutive steps t0, t0 + 1, ...
            self.forced_at: list[int] = []
            self.index = None if self.order is not None else np.empty(cap, np.int64)
            self.values = np.empty((cap, *np.shape(step.value)), np.asarray(step.value).dtype)
            self.log_prob = np.empty((cap, *np.shape(step.log_prob)), np.asarray(step.log_prob).dtype)
            if fmt is not None:
                self.probs = np.empty((cap, fmt.batch, fmt.width), np.float32)
                self.entropy = np.empty((cap, fmt.batch), np.float32)
                self.top = np.empty((cap, fmt.batch, fmt.width), fmt.top_dtype) if fmt.cut else None
                self.rest = np.empty((cap, fmt.batch), np.float32) if fmt.cut else None
        else:
            n = self.n
            names = ["values", "log_prob"] + ([] if self.index is None else ["index"])
            if self.format is not None:
                names += ["probs", "entropy"] + (["top", "rest"] if self.format.cut else [])
            for name in names:
                old = getattr(self, name)
                new = np.empty((cap, *old.shape[1:]), old.dtype)
                new[:n] = old[:n]
                setattr(self, name, new)
        self.cap = cap

    def add(self, step: Step, free: bool = False) -> None:
        """Keep ``step``; send the pending ones if the last batch is old enough.

        ``free``: the run samples at unlimited speed; batches then go out at most
        ``FREE_UPDATES_PER_S`` times a second (the window draws a few frames a second at that speed).
        """
        v = step.view
        if self.n and not (self.format.matches(v) if self.format is not None else v is None):
            self.flush(force=True)  # another format: the batch so far goes out as it is
        n = self.n
        if n == self.cap:
            self._grow(step)
        if step.forced:
            self.forced_at.append(n)
        if self.index is not None:
            self.index[n] = step.index
        self.values[n] = step.value
        self.log_prob[n] = step.log_prob
        if self.format is not None:
            assert v is not None
            self.format.write(v, self.probs[n], self.entropy[n], None if self.top is None else self.top[n],
                              None if self.rest is None else self.rest[n])
        self.n = n + 1
        interval = max(self.min_interval, 1.0 / FREE_UPDATES_PER_S) if free else self.min_interval
        if time.monotonic() - self.last_emit >= interval:
            self.flush(interval=interval)

    def flush(self, force: bool = False, interval: float | None = None) -> None:
        """Send the pending steps (unless too soon, or the GUI is behind, and not ``force``)."""
        n = self.n
        if n == 0:
            return
        now = time.monotonic()
        elapsed = now - self.last_emit
        interval = self.min_interval if interval is None else interval
        if not force and (elapsed < interval or self.in_flight.count >= MAX_IN_FLIGHT):
            return
        t = np.arange(self.t0, self.t0 + n, dtype=np.int64)
        forced = np.zeros(n, dtype=bool)
        forced[self.forced_at] = True
        index = self.order[t] if self.index is None else self.index[:n]
        # A rate from the second batch on: the first one's time is the run's start-up (a paced run
        # sends its first step at once), which read as hundreds of steps a second.
        rate = n / elapsed if elapsed > 0 and self.sent else 0.0
        fmt = self.format
        dists = None if fmt is None else fmt.dists(self.probs[:n], self.entropy[:n],
                                                   None if self.top is None else self.top[:n],
                                                   None if self.rest is None else self.rest[:n])
        batch = PackedBatch(self.run_id, t, index, self.values[:n], self.log_prob[:n], forced, rate, dists)
        cap = self.cap
        self.n = self.cap = 0  # fresh arrays for the next batch (this one's are sent as they are)
        self.last_emit = now
        self.in_flight.sent()
        self.sent += 1
        self.send(batch)
        self._next_cap = cap
