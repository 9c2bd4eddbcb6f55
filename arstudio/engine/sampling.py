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
from pathlib import Path

import numpy as np
import torch

from arstudio.core.checkpoint import CheckpointError
from arstudio.core.device import choose_device, describe
from arstudio.core.generate import generate
from arstudio.core.protocol import ARModel
from arstudio.core.formats import open_checkpoint
from arstudio.engine.emitter import (FREE_UPDATES_PER_S, MAX_IN_FLIGHT, PENDING_MAX, Emitter, InFlight, PackedBatch,
                                     Send)
from arstudio.engine.messages import ModelInfo, RunInfo, RunRequest, RunSummary

__all__ = ["FREE_UPDATES_PER_S", "MAX_IN_FLIGHT", "MAX_UPDATES_PER_S", "PENDING_MAX", "Emitter", "InFlight",
           "PackedBatch", "RunControl", "Send", "open_model", "sample_run"]

MAX_UPDATES_PER_S = 60.0


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


def _cond_tensor(cond: object, device: torch.device) -> torch.Tensor:
    """A run's condition as the model takes it: float stays float (a voice and a mel), anything else long (labels)."""
    a = np.asarray(cond)
    dtype = torch.float32 if np.issubdtype(a.dtype, np.floating) else torch.long
    return torch.as_tensor(a, dtype=dtype, device=device)


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
        cond = None if request.cond is None else _cond_tensor(request.cond, model.device)
        total = layout.length if request.steps is None else max(0, min(int(request.steps), layout.length))
        steps = generate(model, batch=request.batch, policy=request.policy, seed=request.seed,
                         prefix=prefix, forced=forced, cond=cond, steps=total, keep_dists=True)
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
