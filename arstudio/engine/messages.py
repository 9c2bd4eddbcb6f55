"""The plain data that crosses from the generation worker to the GUI thread.

Nothing here holds a tensor, a model or a Qt object: numpy arrays and small dataclasses only,
each tagged with the run id it belongs to so that the GUI can drop what a stale run sends.

Distributions cross compact (``StepDists``): per step and sample, the ``TOP_K`` most likely values
of a large discrete distribution with their probabilities and the mass of all the others (a
support of at most ``WHOLE_SUPPORT`` values whole), or a density curve on at most
``DENSITY_POINTS`` grid points. The live view of the newest step and the run
record's view of a past one are drawn from the same compact entries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    cond: np.ndarray | None = None  # [B, ...] each sample's condition (class labels ...) for a conditional model
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


@dataclass(frozen=True, eq=False)
class Condition:
    """What the next runs are conditioned on, as a panel chose it: sample b gets ``values[b % len(values)]``.

    A class label is ``Condition(np.array([3]))`` and "each label in turn" ``Condition(np.arange(k))``;
    a modality that conditions on a whole array (a mel spectrogram, a caption's tokens) gives one
    entry [1, ...] that every sample shares, and a replayed recipe gives its recorded [B] as it is.
    """

    values: np.ndarray

    def __post_init__(self) -> None:
        v = np.asarray(self.values)
        if v.ndim == 0:
            v = v.reshape(1)
        if len(v) == 0:
            raise ValueError("a condition needs at least one value")
        object.__setattr__(self, "values", v)

    def for_batch(self, batch: int) -> np.ndarray:
        """The condition of each of ``batch`` samples, [B, ...]."""
        return self.values[np.arange(batch) % len(self.values)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and np.array_equal(self.values, other.values)

    __hash__ = None  # type: ignore[assignment]


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


TOP_K = 16  # the most likely values of a large discrete support kept per step and sample
WHOLE_SUPPORT = 32  # a discrete support of at most this many values is kept whole (binary, 17 grey levels)
DENSITY_POINTS = 101  # grid points of a density curve kept per step and sample


def top_entries(probs: np.ndarray, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` most likely positions of each row of ``probs`` [B, K] (k < K), most likely first.

    Returns positions [B, k] (ties: the lower position first, as a stable sort of the whole row
    would), their probabilities [B, k] and the mass of the other K - k positions [B].
    """
    pos = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    pos.sort(axis=1)
    p = np.take_along_axis(probs, pos, 1)
    order = np.argsort(-p, axis=1, kind="stable")
    pos, p = np.take_along_axis(pos, order, 1), np.take_along_axis(p, order, 1)
    rest = probs.sum(1, dtype=np.float64) - p.sum(1, dtype=np.float64)
    return pos, p, np.clip(rest, 0.0, 1.0)


def grid_points(n: int, m: int = DENSITY_POINTS) -> np.ndarray:
    """Positions of at most ``m`` evenly strided points of an ``n``-point grid, both ends kept."""
    if n <= m:
        return np.arange(n)
    pos = np.arange(0, n, math.ceil((n - 1) / (m - 1)))
    return pos if pos[-1] == n - 1 else np.append(pos, n - 1)


class DistFormat:
    """How the full ``DistView``s of one model's steps are kept compact; one per run, in practice.

    Bars over at most ``WHOLE_SUPPORT`` values are kept whole; over more, each sample's ``TOP_K`` most
    likely values and the rest mass (``cut``). A density keeps its curve on the ``grid_points`` of its grid.
    """

    def __init__(self, view: DistView) -> None:
        self.kind, self.labels = view.kind, view.labels
        self.source = view.support  # the full support the views come with
        self.size = int(view.probs.shape[-1])
        self.batch = int(view.probs.shape[0])
        self.grid: np.ndarray | None = None
        self.cut = False
        if view.kind == "density":
            self.grid = grid_points(self.size)
            self.support = np.asarray(view.support)[self.grid]
            self.width = int(self.grid.shape[0])
        else:
            self.support = view.support
            self.cut = self.size > WHOLE_SUPPORT
            self.width = TOP_K if self.cut else self.size
        self.top_dtype = np.dtype(np.uint16 if self.size <= 1 << 16 else np.int32)

    def matches(self, view: DistView | None) -> bool:
        """True if ``view`` can be kept in this format (same kind, support, labels and batch)."""
        return (view is not None and view.kind == self.kind and view.probs.shape == (self.batch, self.size)
                and (view.labels is self.labels or view.labels == self.labels)
                and (view.support is self.source or np.array_equal(view.support, self.source)))

    def write(self, view: DistView, probs: np.ndarray, entropy: np.ndarray, top: np.ndarray | None,
              rest: np.ndarray | None) -> None:
        """Write ``view``'s compact form into one step's rows: probs, top [B, width], entropy, rest [B]."""
        entropy[:] = view.entropy
        if self.grid is not None:
            probs[:] = view.probs[:, self.grid]
        elif not self.cut:
            probs[:] = view.probs
        else:
            assert top is not None and rest is not None
            top[:], probs[:], rest[:] = top_entries(np.asarray(view.probs), self.width)

    def dists(self, probs: np.ndarray, entropy: np.ndarray, top: np.ndarray | None,
              rest: np.ndarray | None) -> "StepDists":
        """The ``StepDists`` of steps kept in this format."""
        return StepDists(self.kind, self.support, self.labels, probs, entropy, top if self.cut else None,
                         rest if self.cut else None)


def entry_view(kind: str, support: np.ndarray, labels: tuple[str, ...] | None, probs: np.ndarray,
               entropy: float, top: np.ndarray | None = None, rest: float | None = None,
               chosen: tuple[float, float] | None = None) -> DistView:
    """One sample's compact entries as a one-row ``DistView`` (support = the listed values).

    ``top`` [w] are positions in ``support`` (None: entry j is ``support[j]``); ``rest`` is the mass
    of the values not listed. ``chosen`` (value, p) adds the chosen value of a cut distribution
    when it is not among the listed ones, so that the plot can show it beside them.
    """
    values = support[: len(probs)] if top is None else np.asarray(support)[top]
    probs = np.asarray(probs, dtype=np.float32)
    total = None
    if top is not None:
        total = int(len(support))
        if chosen is not None and kind == "bars" and math.isfinite(chosen[1]) and chosen[0] not in values:
            values = np.append(values, np.asarray(chosen[0]).astype(values.dtype))
            probs = np.append(probs, np.float32(chosen[1]))
            rest = max(0.0, float(rest or 0.0) - chosen[1])
    return DistView(kind, values, probs[None].copy(), np.array([entropy], dtype=np.float32), labels,
                    None if top is None else np.array([rest or 0.0]), total)


def dense_view(kind: str, support: np.ndarray, labels: tuple[str, ...] | None, probs: np.ndarray,
               entropy: np.ndarray, top: np.ndarray | None = None) -> DistView:
    """One step's compact entries over the batch as a ``DistView`` on the whole support [B, K].

    Values outside a sample's kept entries read 0 (their mass is the entries' ``rest``). For
    callers that want a row per support value; the plot draws ``entry_view``s.
    """
    if top is None:
        return DistView(kind, support, np.asarray(probs), np.asarray(entropy), labels)
    full = np.zeros((probs.shape[0], len(support)), dtype=np.float32)
    np.put_along_axis(full, top.astype(np.intp), probs, 1)
    return DistView(kind, support, full, np.asarray(entropy), labels)


@dataclass
class StepDists:
    """The distributions of n consecutive steps over a batch of B, compact (see ``DistFormat``).

    ``probs`` [n, B, w] holds the kept entries' probabilities (a density: its values on the kept
    grid, which ``support`` then is); ``top`` [n, B, w] their positions in ``support``, most likely
    first, and ``rest`` [n, B] the mass of every other value, when the support was cut to ``TOP_K``
    (it is when it has more than ``WHOLE_SUPPORT`` values).
    """

    kind: str
    support: np.ndarray  # [K]: every value of a discrete support, or the kept grid of a density
    labels: tuple[str, ...] | None
    probs: np.ndarray  # [n, B, w] float32
    entropy: np.ndarray  # [n, B] nats, of the full distribution
    top: np.ndarray | None = None  # [n, B, w] positions in ``support``; None: entry j is support[j]
    rest: np.ndarray | None = None  # [n, B]; None: nothing was cut

    @classmethod
    def compact(cls, views: Sequence[DistView]) -> "StepDists":
        """The compact form of full views that share one format (as the sampling loop makes it)."""
        fmt = DistFormat(views[0])
        n, b, w = len(views), fmt.batch, fmt.width
        probs, entropy = np.empty((n, b, w), np.float32), np.empty((n, b), np.float32)
        top = np.empty((n, b, w), fmt.top_dtype) if fmt.cut else None
        rest = np.empty((n, b), np.float32) if fmt.cut else None
        for i, v in enumerate(views):
            if not fmt.matches(v):
                raise ValueError(f"view {i} does not share the first view's kind, support, labels and batch")
            fmt.write(v, probs[i], entropy[i], None if top is None else top[i], None if rest is None else rest[i])
        return fmt.dists(probs, entropy, top, rest)

    def __len__(self) -> int:
        return int(self.probs.shape[0])

    def row(self, i: int, sample: int) -> DistView:
        """Step ``i``'s distribution for ``sample`` as the plot draws it (the kept entries)."""
        return entry_view(self.kind, self.support, self.labels, self.probs[i, sample], float(self.entropy[i, sample]),
                          None if self.top is None else self.top[i, sample],
                          None if self.rest is None else float(self.rest[i, sample]))

    def dense(self, i: int) -> DistView:
        """Step ``i`` over the batch on the whole support (see ``dense_view``)."""
        return dense_view(self.kind, self.support, self.labels, self.probs[i], self.entropy[i],
                          None if self.top is None else self.top[i])


@dataclass
class StepBatch:
    """Consecutive steps t[0] .. t[-1] of one run, batched so the GUI redraws at most ~60 times a second."""

    run_id: int
    t: np.ndarray  # [n]
    index: np.ndarray  # [n] flat data index written at each step
    values: np.ndarray  # [n, B]
    log_prob: np.ndarray  # [n, B]
    forced: np.ndarray  # [n] bool
    dists: StepDists | None  # the steps' distributions, compact; None when the loop made no views
    steps_per_s: float = 0.0

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def views(self) -> list[DistView | None]:
        """One ``DistView`` per step over the batch on the whole support (built per call; ``StepDists.dense``)."""
        if self.dists is None:
            return [None] * len(self)
        return [self.dists.dense(i) for i in range(len(self))]


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
