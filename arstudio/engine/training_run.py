"""Training as a background job: the Trainer's callbacks become plain progress messages for the GUI.

``run_training`` runs ``train_kind`` (the same function ``arstudio train`` runs); the training
dialog submits it to its ``JobRunner``. Its callbacks check a thread-safe ``TrainControl`` between
steps (pause blocks there, cancel asks the trainer to stop), save the run atomically after every
evaluation (a run killed midway leaves the last good checkpoint intact and loadable, and
resumable), and ``report`` ``TrainProgress`` batches at most ~10 times a second and a
``CheckpointSaved`` after each periodic save. Only numpy arrays and small dataclasses cross to the
GUI thread; the job returns one ``TrainDone``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_UPDATES_PER_S = 10.0


@dataclass(frozen=True)
class TrainRequest:
    """One training run as the dialog asks for it."""

    run_id: int
    kind: str
    data: str  # a data set name, or "folder:PATH" for a folder of images
    out: Path
    steps: int = 2000
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    eval_every: int = 250
    resume: Path | None = None  # a checkpoint whose run continues


@dataclass
class TrainProgress:
    """Steps since the last message: train loss points, eval points, and where the run stands."""

    run_id: int
    step: int
    total: int
    steps: np.ndarray  # [n] steps of the train-loss points below
    train_nats: np.ndarray  # [n]
    eval_steps: np.ndarray  # [m]
    valid_nats: np.ndarray  # [m]
    seconds: float  # time spent training (pauses left out)
    first_step: int = 0  # where the run began (> 0 when resumed)

    @property
    def eta_s(self) -> float:
        """Seconds left at the run's mean speed so far."""
        done = self.step - self.first_step
        return (self.total - self.step) * self.seconds / done if done > 0 else math.inf


@dataclass(frozen=True)
class CheckpointSaved:
    """A periodic (atomic) save of the run to ``path`` is complete."""

    run_id: int
    path: str


@dataclass(frozen=True)
class TrainDone:
    """Sent once when a run ends: the checkpoint written, its metrics, or why it stopped."""

    run_id: int
    path: Path | None
    metrics: dict[str, float] = field(default_factory=dict)
    cancelled: bool = False
    error: str | None = None
    seconds: float = 0.0


class TrainControl:
    """Pause, resume and cancel, set from the GUI thread and checked by the training loop between steps."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._cancelled = False

    @property
    def paused(self) -> bool:
        """True while the run waits."""
        return self._paused

    @property
    def cancelled(self) -> bool:
        """True once cancel was asked."""
        return self._cancelled

    def pause(self) -> None:
        """Wait before the next step."""
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        """Go on."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def cancel(self) -> None:
        """Stop after the current step (the run's best weights so far are still saved)."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def wait_if_paused(self, stopped: Callable[[], bool] | None = None) -> float:
        """Block while paused (and ``stopped()``, polled twice a second, is not True); return the seconds spent."""
        t0 = time.perf_counter()
        with self._cond:
            while self._paused and not self._cancelled and not (stopped is not None and stopped()):
                self._cond.wait(0.5)
        return time.perf_counter() - t0


def resolve_data(data: str, kind: str) -> Any:
    """The data set a request names: a registered name, or a folder of images fitted to the kind's data."""
    from arstudio.core.registry import get
    from arstudio.data.datasets import get_dataset

    if data.startswith("folder:"):
        from arstudio.modalities.image.folder import folder_dataset

        return folder_dataset(Path(data[len("folder:"):]), get_dataset(get(kind).default_data))
    return get_dataset(data)


def run_training(req: TrainRequest, control: TrainControl, report: Callable[[object], None],
                 stopped: Callable[[], bool] | None = None) -> TrainDone:
    """Train as ``req`` says, steered by ``control``; never raises (an error is the result's one line).

    ``report`` gets ``TrainProgress`` and ``CheckpointSaved`` messages (``JobRunner.report`` in the
    studio); ``stopped()`` True stops the run as a cancel does (``JobRunner.cancelled``: the studio closes).
    """
    from arstudio.core.checkpoint import load_checkpoint, save_checkpoint
    from arstudio.train.fit import TrainConfig, checkpoint_meta, train_kind

    t_start = time.perf_counter()
    paused_s = [0.0]
    state: dict[str, Any] = {"sent_step": 0, "sent_eval": 0, "last": 0.0, "first": 0, "trainer": None}

    def active_s() -> float:
        return time.perf_counter() - t_start - paused_s[0]

    def send(trainer: Any, step: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - state["last"] < 1.0 / MAX_UPDATES_PER_S:
            return
        h = trainer.history
        i, j = state["sent_step"], state["sent_eval"]
        report(TrainProgress(
            req.run_id, step, req.steps, np.asarray(h["step"][i:], dtype=np.int64),
            np.asarray(h["train_nats"][i:], dtype=np.float64), np.asarray(h["eval_step"][j:], dtype=np.int64),
            np.asarray(h["valid_nats"][j:], dtype=np.float64), active_s(), state["first"]))
        state["sent_step"], state["sent_eval"], state["last"] = len(h["step"]), len(h["eval_step"]), now

    def on_step(trainer: Any, step: int, _loss: float) -> None:
        send(trainer, step)
        if control.paused:
            send(trainer, step, force=True)
            paused_s[0] += control.wait_if_paused(stopped)
        if control.cancelled or (stopped is not None and stopped()):
            trainer.stop_requested = True

    def on_eval(trainer: Any, step: int, metrics: dict[str, float]) -> None:
        send(trainer, step, force=True)
        if step >= req.steps or trainer.stop_requested:
            return  # the final save follows
        meta = checkpoint_meta(trainer, req.kind, recipe, active_s(), split_metrics=False)
        meta.metrics = {"valid_nats": metrics["nats"], "valid_bits_per_dim": metrics["bits_per_dim"]}
        if math.isfinite(metrics["nats"]):
            save_checkpoint(req.out, trainer.model, meta)  # atomic: the previous save stays until this one is whole
            report(CheckpointSaved(req.run_id, str(req.out)))

    def setup(trainer: Any) -> None:
        state["trainer"], state["first"] = trainer, trainer.start_step
        state["sent_step"], state["sent_eval"] = len(trainer.history["step"]), len(trainer.history["eval_step"])

    recipe = (f"studio: train {req.kind} on {req.data} for {req.steps} steps, batch {req.batch_size}, "
              f"lr {req.lr:g}, seed {req.seed}" + (f", resumed from {req.resume.name}" if req.resume else ""))
    try:
        resume = load_checkpoint(req.resume) if req.resume is not None else None
        data = resolve_data(req.data, req.kind)
        cfg = TrainConfig(steps=req.steps, batch_size=req.batch_size, lr=req.lr, seed=req.seed,
                          eval_every=max(1, req.eval_every))
        model, meta = train_kind(req.kind, data, None, cfg, recipe,
                                 {"on_step": [on_step], "on_eval": [on_eval]}, resume=resume, setup=setup)
        if state["trainer"] is not None:
            send(state["trainer"], state["trainer"].step, force=True)
        save_checkpoint(req.out, model, meta)
    except Exception as e:  # CheckpointError (full or read-only folder), bad data, a bug: one line
        return TrainDone(req.run_id, None, cancelled=control.cancelled, error=str(e) or type(e).__name__,
                         seconds=active_s())
    return TrainDone(req.run_id, req.out, dict(meta.metrics), cancelled=control.cancelled, seconds=active_s())
