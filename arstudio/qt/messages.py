"""The plain data that crosses from the generation worker to the GUI thread.

Nothing here holds a tensor, a model or a Qt object: numpy arrays and small dataclasses only,
each tagged with the run id it belongs to so that the GUI can drop what a stale run sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arstudio.core.checkpoint import CheckpointMeta
from arstudio.core.dists import DistView
from arstudio.core.policy import SamplingPolicy
from arstudio.core.spec import ModelSpec


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI knows of the loaded model (the model itself stays in the worker thread)."""

    path: Path
    name: str
    spec: ModelSpec
    meta: CheckpointMeta
    num_orderings: int
    device: str
    parameters: int


@dataclass(frozen=True)
class RunRequest:
    """Everything one run needs: batch, seed, policy, ordering, and a branch's kept prefix / forced values."""

    run_id: int
    batch: int = 1
    seed: int = 0
    policy: SamplingPolicy = field(default_factory=SamplingPolicy)
    ordering: int = 0
    prefix: np.ndarray | None = None  # [B, t0] values in step order, kept as they are
    forced: dict[int, Any] = field(default_factory=dict)  # step -> value (int or [B])

    @property
    def prefix_len(self) -> int:
        """Number of kept steps t0."""
        return 0 if self.prefix is None else int(self.prefix.shape[1])

    def is_free(self, t: int) -> bool:
        """True for a step whose value is given (prefix or forced): it is replayed without pacing."""
        return t < self.prefix_len or t in self.forced


@dataclass(frozen=True)
class RunInfo:
    """Sent once when a run starts: its shape and the ordering the canvas must follow."""

    run_id: int
    batch: int
    length: int
    shape: tuple[int, ...]
    order: np.ndarray  # [T] step -> flat data index
    request: RunRequest


@dataclass
class StepBatch:
    """Consecutive steps t[0] .. t[-1] of one run, batched so the GUI redraws at most ~60 times a second."""

    run_id: int
    t: np.ndarray  # [n]
    index: np.ndarray  # [n] flat data index written at each step
    values: np.ndarray  # [n, B]
    log_prob: np.ndarray  # [n, B]
    forced: np.ndarray  # [n] bool
    views: list[DistView]  # n views, each over the batch [B, K]
    steps_per_s: float = 0.0

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(frozen=True)
class RunSummary:
    """Sent once when a run ends: how far it got and why it stopped."""

    run_id: int
    steps: int
    seconds: float
    cancelled: bool = False
    error: str | None = None

    @property
    def steps_per_s(self) -> float:
        """Mean sampling speed of the run."""
        return self.steps / self.seconds if self.seconds > 0 else 0.0
