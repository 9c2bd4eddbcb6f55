"""Training curves: train loss and held-out (valid) loss against the step, updated in place.

Both axes are labelled (the loss in nats per example of the modality: per image, window, clip) and a
legend names the two curves, in the dock's small plot as in the training dialog.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget

VALID = "#7ee787"


class TrainingCurves(PlotWidget):
    """Train NLL (blue line) and held-out NLL (green points) in nats per example; ``small``: the dock's size."""

    def __init__(self, small: bool = False, parent: object = None) -> None:
        super().__init__(parent, background=theme.BACKGROUND)
        self.small = small
        self.unit = "example"
        self.setMenuEnabled(False)
        self.hideButtons()
        self.showGrid(x=True, y=True, alpha=0.15)
        self._label_style = {"color": theme.FOREGROUND, **({"font-size": "8pt"} if small else {})}
        for name in ("left", "bottom"):
            self.getAxis(name).enableAutoSIPrefix(False)
        if small:
            self.setMouseEnabled(x=False, y=False)
            self.setFixedHeight(150)
            font = QFont()
            font.setPointSizeF(7.5)
            for name in ("left", "bottom"):
                self.getAxis(name).setStyle(tickFont=font)
        self.setLabel("bottom", "training step", **self._label_style)
        self.legend = self.addLegend(offset=(-6, 4) if small else (-10, 10), labelTextSize="8pt" if small else "9pt",
                                     brush=pg.mkBrush(29, 31, 36, 200), colCount=2 if small else 1)
        self.train = pg.PlotDataItem([], [], pen=pg.mkPen(theme.BAR, width=1), name="train")
        self.valid = pg.PlotDataItem([], [], pen=pg.mkPen(VALID, width=1.5), symbol="o", symbolSize=5,
                                     symbolBrush=VALID, symbolPen=None,
                                     name="held-out" if small else "held-out (valid split)")
        self.addItem(self.train)
        self.addItem(self.valid)
        self.set_unit("example")
        self._data = [np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)]

    def set_unit(self, example_unit: str) -> None:
        """Label the loss axis in nats per ``example_unit`` (the modality's: image, window, clip)."""
        self.unit = example_unit
        text = f"nats/{example_unit}" if self.small else f"NLL (nats per {example_unit})"
        self.setLabel("left", text, **self._label_style)

    def axis_titles(self) -> tuple[str, str]:
        """What the axes say: (loss axis, step axis)."""
        return self.getAxis("left").labelText, self.getAxis("bottom").labelText

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
