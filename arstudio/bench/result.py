"""One benchmark measurement: two figures measured in the same run, and their ratio."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    """One measured figure, e.g. 5400.0 steps/s for "incremental cursor"."""

    label: str
    value: float
    unit: str


@dataclass
class BenchResult:
    """``ours`` against ``baseline`` measured in the same run; ``ratio`` is ours / baseline.

    For figures where lower is better (latency), ``higher_is_better`` is False and the ratio is
    baseline / ours, so that a ratio above 1 always means ours is better.
    """

    name: str
    compares: str
    ours: Figure
    baseline: Figure
    settings: dict[str, Any] = field(default_factory=dict)  # batch, length, threads, device ...
    higher_is_better: bool = True
    floor: float | None = None  # the ratio an issue asks for, if any
    notes: str = ""

    @property
    def ratio(self) -> float:
        """How many times better ours is than the baseline."""
        a, b = self.ours.value, self.baseline.value
        if self.higher_is_better:
            return a / b if b else float("inf")
        return b / a if a else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the ratio included."""
        d = asdict(self)
        d["ratio"] = self.ratio
        return d

    def to_json(self) -> str:
        """One JSON line."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BenchResult":
        """Inverse of ``to_dict`` (the ratio is recomputed)."""
        d = {k: v for k, v in d.items() if k != "ratio"}
        d["ours"], d["baseline"] = Figure(**d["ours"]), Figure(**d["baseline"])
        return cls(**d)
