"""The plain data that crosses from the generation worker to the GUI thread.

Nothing here holds a tensor, a model or a Qt object: numpy arrays and small dataclasses only,
each tagged with the run id it belongs to so that the GUI can drop what a stale run sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    cond: np.ndarray | None = None  # [B] class labels for a conditional model
    given: np.ndarray | None = None  # [D] or [B, D] values in data order that the run keeps (complete from here)
    given_mask: np.ndarray | None = None  # [D] bool: which places of ``given`` are kept
    steps: int | None = None  # stop after this many steps in all, prefix included (None: the whole layout)
    stop_value: int | None = None  # stop once every sample has sampled this value (an end token)

    @property
    def prefix_len(self) -> int:
        """Number of kept steps t0."""
        return 0 if self.prefix is None else int(self.prefix.shape[1])

    def is_free(self, t: int) -> bool:
        """True for a step whose value is given (prefix or forced): it is replayed without pacing."""
        return t < self.prefix_len or t in self.forced

    def resolved(self, order: np.ndarray) -> "RunRequest":
        """This request with ``given`` pixels turned into a kept prefix and forced steps, for ``order`` [T].

        The leading run of given steps becomes the prefix; given places later in the order are forced.
        """
        if self.given is None or self.given_mask is None:
            return self
        mask = np.asarray(self.given_mask, dtype=bool)[np.asarray(order)]  # step order
        vals = np.broadcast_to(np.asarray(self.given), (self.batch, mask.shape[0]))[:, np.asarray(order)]
        t0 = int(np.argmin(mask)) if not mask.all() else int(mask.size)
        forced = {int(t): vals[:, t].copy() for t in np.flatnonzero(mask[t0:]) + t0}
        return replace(self, prefix=vals[:, :t0].copy() if t0 else None, forced={**forced, **self.forced},
                       given=None, given_mask=None)


@dataclass(frozen=True)
class RunPlan:
    """What a panel asks the next runs to keep: a prefix for every sample, a length, an end value.

    Plays, steps and restarts with new settings follow the plan until another one replaces it;
    ``RunPlan()`` is the default (no prefix, the whole layout). ``batch`` overrides the controls'.
    """

    prefix: np.ndarray | None = None  # [t0] values in step order, the same for every sample
    steps: int | None = None
    stop_value: int | None = None
    batch: int | None = None


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
