"""Decides which step the distribution view and the log p strip show, and what a click on a value means.

By default they follow the newest step of the focused sample; hovering a filled place shows the
distribution it was drawn from (as the run's sampling policy saw it, the model's own faint behind);
clicking a place pins it (and focuses its sample). A click on a value in the distribution view
asks to force that value at the shown step (``value_forced``).
This is the same for every modality, so it lives here rather than in a panel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from arstudio.engine.record import RunRecord
from arstudio.qt.views.dist_plot import DistPlot
from arstudio.qt.views.strip import LogProbStrip


class Inspector(QObject):
    """Feeds ``DistPlot`` and ``LogProbStrip`` from the current run's record."""

    value_forced = Signal(int, int, object)  # step, sample, value
    focus_changed = Signal(int, int)  # step, sample of the place to outline; (-1, -1) for none

    def __init__(self, dist: DistPlot, strip: LogProbStrip, describe: Callable[[RunRecord, int], str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dist, self.strip = dist, strip
        self.describe = describe or (lambda record, step: f"step {step}")
        self.record: RunRecord | None = None
        self.sample = 0
        self.hovered: tuple[int, int] | None = None
        self.pinned: tuple[int, int] | None = None
        dist.value_clicked.connect(self._on_value_clicked)

    def set_step_unit(self, unit: str) -> None:
        """What one step of the loaded model is ("dim", "token" ...), for the strip's bits per step."""
        self.strip.unit = unit

    def clear(self, message: str = "No step yet: press Play.") -> None:
        """Forget the run (a reset or a new model): no step, no tick labels, the strip's axes as before any run."""
        self.record, self.hovered, self.pinned = None, None, None
        self.dist.reset(message)
        self.strip.clear()
        self.focus_changed.emit(-1, -1)

    def begin_run(self, record: RunRecord) -> None:
        """A new run started: follow its newest step again."""
        self.record, self.hovered, self.pinned = record, None, None
        self.sample = min(self.sample, record.batch - 1)
        steps = getattr(record.info.request, "steps", None)  # a run planned shorter than its layout (a text's
        planned = record.length if steps is None else max(1, min(int(steps), record.length))  # tokens, audio's seconds)
        self.strip.reset(planned, clear=record.filled == 0)
        if record.filled == 0:  # otherwise steps_arrived shows its newest step right after
            self.dist.clear("Sampling…")
        self.focus_changed.emit(-1, -1)

    def steps_arrived(self, record: RunRecord) -> None:
        """New steps in the current run."""
        self.record = record
        self._refresh()

    def hover(self, step: int, sample: int) -> None:
        """The mouse is over ``step`` of ``sample`` (step < 0: over nothing filled)."""
        self.hovered = None if step < 0 or sample < 0 else (step, sample)
        self._refresh()

    def pick(self, step: int, sample: int) -> None:
        """Pin ``step`` of ``sample`` (picking the pinned place again unpins it)."""
        self.pinned = None if self.pinned == (step, sample) else (step, sample)
        self.sample = sample
        self._refresh()

    def shown(self) -> tuple[int, int] | None:
        """(step, sample) the distribution view shows now, or None."""
        if self.record is None or self.record.filled == 0:
            return None
        return self.hovered or self.pinned or (self.record.last_step, self.sample)

    def _refresh(self) -> None:
        rec, at = self.record, self.shown()
        if rec is None or at is None:
            return
        step, sample = at
        view = rec.view(step, sample)
        if view is None:
            return
        chosen, lp = float(rec.values[step, sample]), float(rec.log_prob[step, sample])
        kept = int(getattr(rec.info.request, "prefix_len", 0) or 0)  # a branch's prefix, kept from its run
        forced = " (kept)" if step < kept else " (forced)" if rec.forced[step] else ""
        pin = " · pinned" if self.pinned == at and self.hovered is None else ""
        title = f"{self.describe(rec, step)} · sample {sample + 1}{forced}{pin}"
        policy = getattr(rec.info.request, "policy", None)  # the run's: its bars are what the policy drew from
        self.dist.show_dist(view, chosen if not np.isnan(chosen) else None, lp, title, policy)
        n = rec.filled
        focus_sample = self.hovered[1] if self.hovered else self.sample
        self.strip.set_series(rec.log_prob[:n, focus_sample], rec.forced[:n], focus_sample, kept)
        self.strip.mark(step)
        outlined = self.hovered or self.pinned
        self.focus_changed.emit(*(outlined if outlined else (-1, -1)))

    def _on_value_clicked(self, value: object) -> None:
        at = self.shown()
        if at is not None:
            self.value_forced.emit(at[0], at[1], value)
