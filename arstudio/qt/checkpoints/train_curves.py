"""Training curves: train loss and held-out (valid) loss against the step, updated in place."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget

VALID = "#7ee787"


class TrainingCurves(PlotWidget):
    """Train NLL (blue line) and valid NLL (green points) in nats; ``small`` hides the axes' titles."""

    def __init__(self, small: bool = False, parent: object = None) -> None:
        super().__init__(parent, background=theme.BACKGROUND)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.showGrid(x=True, y=True, alpha=0.15)
        if small:
            self.setMouseEnabled(x=False, y=False)
            self.setFixedHeight(110)
        else:
            self.setLabel("left", "NLL (nats)")
            self.getAxis("left").enableAutoSIPrefix(False)
            self.setLabel("bottom", "step")
            self.addLegend(offset=(-10, 10))
        self.train = pg.PlotDataItem([], [], pen=pg.mkPen(theme.BAR, width=1), name="train")
        self.valid = pg.PlotDataItem([], [], pen=pg.mkPen(VALID, width=1.5), symbol="o", symbolSize=5,
                                     symbolBrush=VALID, symbolPen=None, name="valid")
        self.addItem(self.train)
        self.addItem(self.valid)
        self._data = [np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)]

    def set_history(self, steps: np.ndarray, train: np.ndarray, eval_steps: np.ndarray, valid: np.ndarray) -> None:
        """Show whole curves (replacing what was drawn)."""
        self._data = [np.asarray(a, dtype=np.float64) for a in (steps, train, eval_steps, valid)]
        self._draw()

    def append(self, steps: np.ndarray, train: np.ndarray, eval_steps: np.ndarray, valid: np.ndarray) -> None:
        """Add points to the curves."""
        for i, a in enumerate((steps, train, eval_steps, valid)):
            self._data[i] = np.concatenate([self._data[i], np.asarray(a, dtype=np.float64)])
        self._draw()

    def clear_curves(self) -> None:
        """No curves."""
        self.set_history(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))

    def _draw(self) -> None:
        s, t, es, v = self._data
        self.train.setData(s, t)
        self.valid.setData(es, v)
        finite = np.concatenate([t[np.isfinite(t)], v[np.isfinite(v)]])
        if finite.size:  # clip the first steps' large losses so the interesting part shows
            lo, hi = float(np.min(finite)), float(np.percentile(finite, 98))
            self.setYRange(lo, max(hi, lo + 1e-3), padding=0.05)
        if s.size or es.size:
            self.setXRange(0, float(max(s.max() if s.size else 0, es.max() if es.size else 0)) or 1.0, padding=0.02)

    def curves(self) -> tuple[np.ndarray, ...]:
        """What is drawn: (steps, train, eval_steps, valid)."""
        return tuple(self._data)
