"""The GUI thread's record of the current run: every step's value, log p and distribution, kept for hover."""

from __future__ import annotations

import numpy as np

from arstudio.core.dists import DistView
from arstudio.engine.messages import RunInfo, StepBatch


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
        self.views: list[DistView | None] = [None] * self.length
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
        self.values[t] = batch.values
        self.log_prob[t] = batch.log_prob
        self.forced[t] = batch.forced
        for i, v in zip(t.tolist(), batch.views):
            self.views[i] = v
        self.filled = max(self.filled, int(t[-1]) + 1)

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
        """The distribution step ``step`` drew sample ``sample`` from (one row), or None."""
        if not 0 <= step < self.filled or not 0 <= sample < self.batch:
            return None
        v = self.views[step]
        if v is None:
            return None
        return DistView(v.kind, v.support, v.probs[sample:sample + 1], v.entropy[sample:sample + 1], v.labels)

    def branch(self, step: int, sample: int, value: float) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Prefix [B, step] and forced values for a branch that sets ``value`` at ``step`` in ``sample``.

        Every other sample keeps the value it had at that step, so only the chosen one changes.
        """
        if not 0 <= step < self.filled:
            raise ValueError(f"step {step} has not been sampled yet")
        at = self.values[step].copy()
        at[sample] = value
        return self.values[:step].T.copy(), {step: at}
