"""What a model generates: its layout (step -> place) and the space its values live in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np

ValueKind = Literal["binary", "categorical", "continuous"]


@dataclass(frozen=True)
class ValueSpace:
    """The values one step can take: {0, 1}, {0..n-1}, or an interval of the reals."""

    kind: ValueKind
    n: int = 0
    low: float = 0.0
    high: float = 1.0
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind == "binary" and self.n not in (0, 2):
            raise ValueError("a binary value space has exactly two values")
        if self.kind == "binary":
            object.__setattr__(self, "n", 2)
        if self.kind == "categorical" and self.n < 2:
            raise ValueError("a categorical value space needs at least two values")

    @property
    def discrete(self) -> bool:
        """True for binary and categorical spaces."""
        return self.kind != "continuous"

    def label(self, v: int) -> str:
        """Display label of value v."""
        if self.labels is not None and 0 <= v < len(self.labels):
            return self.labels[v]
        return str(v)


@dataclass(frozen=True)
class Layout:
    """Maps generation step t to a place in the modality.

    Data tensors are always kept flat in their natural order (C, H, W raster for images, time for
    sequences): ``x`` has shape [B, D]. ``order[t]`` is the flat index written at step t, so an
    EoNADE / MADE ordering is just a permutation.
    """

    modality: str
    shape: tuple[int, ...]
    order: tuple[int, ...] | None = None

    @cached_property
    def length(self) -> int:
        """Number of steps, D (cached: the sampling loop asks at every step)."""
        return math.prod(self.shape)

    def index(self, t: int) -> int:
        """Flat data index written at step t."""
        return t if self.order is None else self.order[t]

    def place(self, t: int) -> tuple[int, ...]:
        """Multi-index (e.g. (c, h, w)) written at step t."""
        return tuple(int(i) for i in np.unravel_index(self.index(t), self.shape))

    def order_array(self) -> np.ndarray:
        """The permutation step -> flat index as an int array."""
        if self.order is None:
            return np.arange(self.length)
        return np.asarray(self.order, dtype=np.int64)

    def with_order(self, order: np.ndarray | list[int] | None) -> "Layout":
        """The same layout following another ordering (must be a permutation of 0..D-1)."""
        if order is None:
            return replace(self, order=None)
        order = [int(i) for i in order]
        if sorted(order) != list(range(self.length)):
            raise ValueError("an ordering must be a permutation of 0..D-1")
        if order == list(range(self.length)):
            return replace(self, order=None)
        return replace(self, order=tuple(order))


@dataclass(frozen=True)
class ModelSpec:
    """Everything about a model that is not its weights: kind, config, layout and value space."""

    kind: str
    config: dict[str, Any]
    layout: Layout
    values: ValueSpace
    cond: dict[str, Any] = field(default_factory=dict)  # e.g. {"classes": 10} for p(x | c)
