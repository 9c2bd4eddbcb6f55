"""The GUI thread's record of the current run: per step the value, its log p and the compact distribution.

A step's distribution is kept as ``StepDists`` brings it: the ``TOP_K`` most likely values with
their probabilities and the rest mass (or a small density curve), in arrays allocated once for the
whole run, never one object per step. A 10-second audio run at 16 kHz over 256 levels (160,000
steps) holds 22 MB per sample (138 bytes a step) where whole float32 distributions took 164 MB
(2.6 GB for a batch of 16, against 310 MB now); hovering a past step still draws its bars.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from arstudio.core.dists import DistView
from arstudio.engine.messages import RunInfo, StepBatch, StepDists, dense_view, entry_view


@dataclass(eq=False)
class _Format:
    """One kind of compact distribution the record holds (a run has one, in practice)."""

    kind: str
    support: np.ndarray
    labels: tuple[str, ...] | None
    width: int
    cut: bool

    def holds(self, d: StepDists) -> bool:
        return (d.kind == self.kind and d.labels == self.labels and (d.top is not None) == self.cut
                and d.probs.shape[-1] == self.width
                and (d.support is self.support or np.array_equal(d.support, self.support)))


class RunRecord:
    """Accumulates a run's ``StepBatch``es; arrays are in step order [T, B] unless said otherwise."""

    def __init__(self, info: RunInfo) -> None:
        self.info = info
        self.batch, self.length = info.batch, info.length
        self.order = np.asarray(info.order, dtype=np.int64)  # step -> flat index
        self.step_of_index = np.empty_like(self.order)
        self.step_of_index[self.order] = np.arange(self.length)
        self.values = np.full((self.length, self.batch), np.nan)
        self.log_prob = np.full((self.length, self.batch), np.nan)
        self.forced = np.zeros(self.length, dtype=bool)
        # the distributions, compact; allocated at the first batch (np.zeros: pages are touched as steps fill)
        self._fmt = np.full(self.length, -1, dtype=np.int8)  # step -> index in _formats, -1: none
        self._formats: list[_Format] = []
        self._probs: np.ndarray | None = None  # [T, B, W] float32
        self._entropy: np.ndarray | None = None  # [T, B] float32
        self._top: np.ndarray | None = None  # [T, B, W] positions in the support, for cut formats
        self._rest: np.ndarray | None = None  # [T, B] float32, for cut formats
        self.filled = 0  # steps 0 .. filled-1 are known
        self.finished = False

    @property
    def run_id(self) -> int:
        """The run this record belongs to."""
        return self.info.run_id

    def add(self, batch: StepBatch) -> None:
        """Store a batch of steps of this run."""
        if batch.run_id != self.run_id:
            raise ValueError(f"batch of run {batch.run_id} given to the record of run {self.run_id}")
        t = batch.t
        if len(t) == 0:
            return
        lo, hi = int(t[0]), int(t[-1]) + 1
        at: slice | np.ndarray = slice(lo, hi) if hi - lo == len(t) else t  # a batch's steps are consecutive
        self.values[at] = batch.values
        self.log_prob[at] = batch.log_prob
        self.forced[at] = batch.forced
        d = batch.dists
        if d is not None:
            f = self._format_of(d)
            w = d.probs.shape[-1]
            assert self._probs is not None and self._entropy is not None
            self._probs[at, :, :w] = d.probs
            self._entropy[at] = d.entropy
            if d.top is not None:
                assert self._top is not None and self._rest is not None
                self._top[at, :, :w] = d.top
                self._rest[at] = d.rest
            self._fmt[at] = f
        self.filled = max(self.filled, hi)

    def _format_of(self, d: StepDists) -> int:
        """The index of ``d``'s format, new ones added and the arrays (re)allocated to hold it."""
        for i, f in enumerate(self._formats):
            if f.holds(d):
                return i
        if len(self._formats) >= 127:
            raise ValueError("a run whose steps change their distribution's format this often is not supported")
        w = int(d.probs.shape[-1])
        self._formats.append(_Format(d.kind, d.support, d.labels, w, d.top is not None))
        shape = (self.length, self.batch)
        if self._probs is None or self._probs.shape[-1] < w:
            self._probs = _widened(self._probs, (*shape, w), np.float32)
        if self._entropy is None:
            self._entropy = np.zeros(shape, np.float32)
        if d.top is not None:
            have = 0 if self._top is None else self._top.shape[-1]
            dtype = d.top.dtype if self._top is None else np.promote_types(self._top.dtype, d.top.dtype)
            if have < w or self._top is None or self._top.dtype != dtype:
                self._top = _widened(self._top, (*shape, max(w, have)), dtype)
            if self._rest is None:
                self._rest = np.zeros(shape, np.float32)
        return len(self._formats) - 1

    def nbytes(self) -> int:
        """Bytes held by the record's arrays (allocated for the whole run)."""
        arrays = (self.order, self.step_of_index, self.values, self.log_prob, self.forced, self._fmt,
                  self._probs, self._entropy, self._top, self._rest)
        return sum(a.nbytes for a in arrays if a is not None)

    @property
    def last_step(self) -> int:
        """The most recent step, or -1 before the first."""
        return self.filled - 1

    def data(self) -> np.ndarray:
        """Values in flat data order [B, D]; NaN where nothing has been sampled yet."""
        out = np.full((self.batch, self.length), np.nan)
        out[:, self.order] = self.values.T
        return out

    def step_at(self, index: int) -> int | None:
        """The step that wrote flat data ``index``, or None if it is not filled yet."""
        if not 0 <= index < self.length:
            return None
        s = int(self.step_of_index[index])
        return s if s < self.filled else None

    def view(self, step: int, sample: int) -> DistView | None:
        """The distribution step ``step`` drew sample ``sample`` from (one row, its kept entries), or None.

        Over a cut support the view lists the ``TOP_K`` most likely values, most likely first, then
        the chosen value if it was not among them (its p from its log p), and ``rest`` holds the
        mass of the values not listed.
        """
        if not 0 <= step < self.filled or not 0 <= sample < self.batch:
            return None
        f = int(self._fmt[step])
        if f < 0:
            return None
        fmt = self._formats[f]
        assert self._probs is not None and self._entropy is not None
        top = rest = chosen = None
        if fmt.cut:
            assert self._top is not None and self._rest is not None
            top, rest = self._top[step, sample, :fmt.width], float(self._rest[step, sample])
            value, lp = float(self.values[step, sample]), float(self.log_prob[step, sample])
            chosen = None if np.isnan(value) else (value, float(np.exp(lp)))
        return entry_view(fmt.kind, fmt.support, fmt.labels, self._probs[step, sample, :fmt.width],
                          float(self._entropy[step, sample]), top, rest, chosen)

    def dense_view(self, step: int) -> DistView | None:
        """Step ``step``'s distribution over the batch on the whole support (values not kept read 0), or None."""
        if not 0 <= step < self.filled or self._fmt[step] < 0:
            return None
        fmt = self._formats[int(self._fmt[step])]
        assert self._probs is not None and self._entropy is not None
        top = None if not fmt.cut or self._top is None else self._top[step, :, :fmt.width]
        return dense_view(fmt.kind, fmt.support, fmt.labels, self._probs[step, :, :fmt.width], self._entropy[step], top)

    @property
    def views(self) -> "_Views":
        """Every step's ``dense_view``, built when indexed (nothing is stored per step)."""
        return _Views(self)

    def branch(self, step: int, sample: int, value: float) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Prefix [B, step] and forced values for a branch that sets ``value`` at ``step`` in ``sample``.

        Every other sample keeps the value it had at that step, so only the chosen one changes.
        """
        if not 0 <= step < self.filled:
            raise ValueError(f"step {step} has not been sampled yet")
        at = self.values[step].copy()
        at[sample] = value
        return self.values[:step].T.copy(), {step: at}


class _Views:
    """A read-only sequence over a record's steps: ``views[t]`` is ``record.dense_view(t)``."""

    def __init__(self, record: RunRecord) -> None:
        self.record = record

    def __len__(self) -> int:
        return self.record.length

    def __getitem__(self, step: int) -> DistView | None:
        if not -len(self) <= step < len(self):
            raise IndexError(step)
        return self.record.dense_view(step % len(self))

    def __iter__(self) -> Iterator[DistView | None]:
        return (self.record.dense_view(t) for t in range(len(self)))


def _widened(old: np.ndarray | None, shape: tuple[int, int, int], dtype: np.dtype | type) -> np.ndarray:
    """A zeroed array of ``shape`` holding ``old`` in its leading entries of the last axis."""
    new = np.zeros(shape, dtype)
    if old is not None:
        new[..., : old.shape[-1]] = old
    return new
