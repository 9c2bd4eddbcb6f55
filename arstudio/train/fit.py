"""The maximum-likelihood loop (Adam), with held-out evaluation and callbacks for watchers.

The trainer knows nothing of who watches it: a CLI progress bar or the studio subscribes with
``add_callback("on_step", fn)`` / ``add_callback("on_eval", fn)``.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from arstudio.core.checkpoint import CheckpointMeta
from arstudio.core.protocol import ARModel
from arstudio.core.registry import get as get_kind
from arstudio.core.validate import MAX_SEED, number
from arstudio.data.datasets import Dataset, get_dataset
from arstudio.train.evaluate import evaluate

Callback = Callable[..., None]


@dataclass
class TrainConfig:
    """Hyperparameters of one run."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.0
    seed: int = 0
    eval_every: int = 250
    grad_clip: float = 5.0
    device: str = "cpu"

    def __post_init__(self) -> None:
        number(self.steps, "steps", 1, 10**9, integer=True)
        number(self.batch_size, "batch_size", 1, 1 << 20, integer=True)
        number(self.lr, "the learning rate (lr)", 0, 10.0, lo_open=True)
        number(self.weight_decay, "weight_decay", 0, 10.0)
        number(self.seed, "seed", 0, MAX_SEED, integer=True)
        number(self.eval_every, "eval_every", 1, 10**9, integer=True)
        number(self.grad_clip, "grad_clip", 0)


class TrainingDiverged(ValueError):
    """Training met a NaN or infinite loss; nothing is saved (the message says at which step, in one line)."""


class Trainer:
    """Trains a model on a data set's train split; keeps the weights with the best valid NLL."""

    def __init__(self, model: ARModel, data: Dataset, config: TrainConfig) -> None:
        self.model = model.to(config.device)
        self.data = data
        self.config = config
        self.callbacks: dict[str, list[Callback]] = {"on_step": [], "on_eval": []}
        self.history: dict[str, list[float]] = {"step": [], "train_nats": [], "eval_step": [], "valid_nats": []}
        self.stop_requested = False
        # Hooks for resuming and for distributed training (arstudio.train.distributed):
        self.start_step = 0  # resume after this many steps (the lr schedule continues from there)
        self.step = 0  # the last step taken
        self.shard: tuple[int, int] = (0, 1)  # (rank, world): this process trains on its slice of each batch
        self.loss_module: Callable[..., torch.Tensor] | None = None  # e.g. a DDP wrapper; default training_loss
        self.reduce: Callable[[torch.Tensor], torch.Tensor] = lambda v: v  # the logged loss, averaged over ranks

    def add_callback(self, event: str, fn: Callback) -> None:
        """Call ``fn(trainer, step, value)`` on "on_step" (train loss) or "on_eval" (valid metrics)."""
        if event not in self.callbacks:
            raise ValueError(f"unknown event {event!r}; known: {', '.join(self.callbacks)}")
        self.callbacks[event].append(fn)

    def _emit(self, event: str, step: int, value: Any) -> None:
        for fn in self.callbacks[event]:
            fn(self, step, value)

    def run(self) -> dict[str, float]:
        """Train for ``config.steps`` steps (or until ``stop_requested``); return the best valid metrics."""
        cfg, model = self.config, self.model
        torch.manual_seed(cfg.seed)
        g = torch.Generator().manual_seed(cfg.seed)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.steps, 1), eta_min=cfg.lr * 0.05)
        x_train, y_train = self.data.train, self.data.labels.get("train")
        cond_kind = bool(model.spec.cond)
        best, best_state = math.inf, None
        model.train()
        if self.start_step:
            g.manual_seed(cfg.seed + self.start_step)  # a resumed run draws its own batches from here on
            with warnings.catch_warnings():  # stepping the schedule without optimizer steps, on purpose
                warnings.simplefilter("ignore")
                for _ in range(self.start_step):
                    sched.step()
        loss_fn = self.loss_module or model.training_loss
        for step in range(self.start_step + 1, cfg.steps + 1):
            self.step = step
            idx = self.batch_indices(len(x_train), g)
            xb = x_train[idx].to(cfg.device)
            cb = y_train[idx].to(cfg.device) if cond_kind and y_train is not None else None
            loss = loss_fn(xb, cb, generator=g)
            if not bool(torch.isfinite(loss.detach()).all()):
                raise TrainingDiverged(f"training diverged at step {step}: the loss is {float(loss.detach())} "
                                       f"(lr {cfg.lr:g}; try a smaller learning rate); nothing was saved")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            self.history["step"].append(step)
            self.history["train_nats"].append(float(self.reduce(loss.detach())))
            self._emit("on_step", step, self.history["train_nats"][-1])
            last = step == cfg.steps or self.stop_requested
            if step % cfg.eval_every == 0 or last:
                metrics = self.evaluate("valid")
                self.history["eval_step"].append(step)
                self.history["valid_nats"].append(metrics["nats"])
                if metrics["nats"] < best:
                    best, best_state = metrics["nats"], copy.deepcopy(model.state_dict())
                self._emit("on_eval", step, metrics)
            if self.stop_requested:
                break
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        return {"valid_nats": best}

    def batch_indices(self, n: int, g: torch.Generator) -> torch.Tensor:
        """Rows of one step's batch for this process: every rank draws the same global batch, keeps its slice."""
        idx = torch.randint(n, (self.config.batch_size,), generator=g)
        rank, world = self.shard
        return idx if world == 1 else idx.chunk(world)[rank]

    def evaluate(self, split: str) -> dict[str, float]:
        """Held-out metrics of the current weights on ``split`` (valid or test)."""
        x = getattr(self.data, split)
        cond = self.data.labels.get(split) if self.model.spec.cond else None
        return evaluate(self.model, x, cond)


def train_kind(kind: str, data: str | Dataset | None = None, config: dict[str, Any] | None = None,
               train: TrainConfig | None = None, recipe: str = "",
               callbacks: dict[str, list[Callback]] | None = None, *,
               resume: tuple[ARModel, CheckpointMeta] | None = None,
               setup: Callable[[Trainer], None] | None = None) -> tuple[ARModel, CheckpointMeta]:
    """Build a model of ``kind``, train it on ``data`` and return it with checkpoint metadata.

    The metadata holds the test-split metrics, the valid curve, the split indices and the recipe.
    ``data`` may be a ``Dataset`` (e.g. a person's own folder of images). ``resume`` continues a
    checkpoint's run (its weights, curves and step count; Adam's moments start afresh). ``setup``
    sees the trainer before it runs (the studio keeps it to pause or stop it; DDP shards it).
    """
    mk = get_kind(kind)
    ds = data if isinstance(data, Dataset) else get_dataset(data or mk.default_data)
    if train is None:
        train = TrainConfig(**mk.train_defaults)
    if resume is not None:
        model, old = resume
        if old.kind != kind:
            raise ValueError(f"cannot resume a {old.kind} checkpoint as a {kind} run")
        done = int(old.extra.get("train_state", {}).get("step", old.extra.get("train", {}).get("steps", 0)))
        if done >= train.steps:
            raise ValueError(f"the checkpoint has already trained for {done} steps; ask for more than {done} steps")
    else:
        model, done = mk.build({**ds.model_config(), **(config or {})}), 0
    trainer = Trainer(model, ds, train)
    if resume is not None:
        trainer.start_step = done
        for key, values in resume[1].history.items():
            trainer.history[key] = list(values)
    for event, fns in (callbacks or {}).items():
        for fn in fns:
            trainer.add_callback(event, fn)
    if setup is not None:
        setup(trainer)
    t0 = time.perf_counter()
    trainer.run()
    meta = checkpoint_meta(trainer, kind, recipe, time.perf_counter() - t0)
    return model.cpu(), meta


def checkpoint_meta(trainer: Trainer, kind: str, recipe: str = "", seconds: float = 0.0,
                    split_metrics: bool = True) -> CheckpointMeta:
    """Checkpoint metadata of the trainer's model as it is now: metrics, curves, data, where the run got to."""
    model, ds, train = trainer.model, trainer.data, trainer.config
    metrics: dict[str, float] = {}
    if split_metrics:
        test, valid = trainer.evaluate("test"), trainer.evaluate("valid")
        metrics = {"test_nats": test["nats"], "test_bits_per_dim": test["bits_per_dim"],
                   "valid_nats": valid["nats"], "valid_bits_per_dim": valid["bits_per_dim"]}
    hist = trainer.history
    every = max(1, len(hist["step"]) // 200)  # keep the stored curve small
    history = {"step": hist["step"][::every], "train_nats": hist["train_nats"][::every],
               "eval_step": hist["eval_step"], "valid_nats": hist["valid_nats"]}
    state = {"step": trainer.step or trainer.start_step, "steps": train.steps,
             "completed": (trainer.step or trainer.start_step) >= train.steps}
    return CheckpointMeta(kind=kind, config=model.spec.config, data=ds.meta(), metrics=metrics, history=history,
                          recipe=recipe, extra={"train": asdict(train), "train_seconds": round(seconds, 1),
                                                "parameters": model.num_parameters(),
                                                "train_state": state})
