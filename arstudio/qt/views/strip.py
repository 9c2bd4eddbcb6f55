"""The log p strip: log p(x_t | x_<t) of every step of the run so far, with a marker at one step."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget, ReadableAxis


class LogProbStrip(QWidget):
    """A line of per-step log p, kept steps shaded, forced ones dotted in red, and a summary (nats, bits per step)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setFixedHeight(self.summary.fontMetrics().lineSpacing() + 4)
        self.plot = PlotWidget(background=theme.BACKGROUND, axisItems={"left": ReadableAxis("left")})
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "log p")
        self.plot.setLabel("bottom", "step")
        self.plot.setMinimumHeight(90)
        self.curve = pg.PlotDataItem([], [], pen=pg.mkPen(theme.BAR, width=1.5))
        self.forced = pg.ScatterPlotItem([], [], size=7, brush=pg.mkBrush(theme.FORCED), pen=None)
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CHOSEN, width=1))
        self.kept = pg.LinearRegionItem((0, 0), movable=False, brush=pg.mkBrush(theme.GIVEN + "30"), pen=pg.mkPen(None))
        for item in (self.kept, self.curve, self.forced, self.marker):
            self.plot.addItem(item)
        self.marker.hide()
        self.kept.hide()
        self.curve.setClipToView(True)  # a long run (160,000 audio samples) is drawn as the pixels it covers
        self.curve.setDownsampling(auto=True, method="peak")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(self.summary)
        lay.addWidget(self.plot, 1)
        self._length = 0
        self.unit = "dim"  # what one step is, for "bits per ..." (the modality's step unit)
        self._yrange = (-1.0, 0.1)
        self.plot.enableAutoRange(x=False, y=False)

    def reset(self, length: int, clear: bool = True) -> None:
        """Empty strip for a run of ``length`` steps.

        A run as long as the last one keeps the axes as they were (the same model again: its log p
        lies in the same range), so that nothing is re-laid out at the start of every run; so does
        ``length`` 0 (a reset: no run yet).
        """
        if clear:  # (False when new data follow at once: nothing to draw twice)
            self.curve.setData([], [])
            self.forced.setData([], [])
            self.marker.hide()
            self.kept.hide()
            self.summary.setText("")
        if length and length != self._length:  # 0 (no run: a reset) keeps the axes for the next run
            self._length = length
            self.plot.setXRange(0, max(1, length - 1), padding=0.01)
            self._yrange = (-1.0, 0.1)
            self.plot.setYRange(*self._yrange, padding=0)

    def clear(self) -> None:
        """Nothing drawn and the axes as before any run (a new model: its log p lies elsewhere)."""
        self.reset(0)
        self._length = 0
        self._yrange = (-1.0, 0.1)
        self.plot.setXRange(0, 1, padding=0.01)
        self.plot.setYRange(*self._yrange, padding=0)

    def set_series(self, log_p: np.ndarray, forced: np.ndarray, sample: int, kept: int = 0) -> None:
        """Draw log p of steps 0..n-1 for ``sample``: the first ``kept`` steps (a prompt, a primer, a branch's
        prefix) shaded, the later ones the user set (``forced``) dotted."""
        n = len(log_p)
        t = np.arange(n)
        self.curve.setData(t, log_p)
        dots = np.asarray(forced[:n], dtype=bool) & (t >= kept)
        self.forced.setData(t[dots], log_p[dots])
        if kept > 0:
            self.kept.setRegion((-0.5, min(kept, n) - 0.5))
            self.kept.show()
        else:
            self.kept.hide()
        self._fit_y(log_p)
        total = float(np.sum(log_p))
        bits = -total / (max(n, 1) * np.log(2))
        self.summary.setText(f"sample {sample + 1}: {n} of {self._length} steps &nbsp;·&nbsp; "
                             f"log p = {total:.2f} nats &nbsp;·&nbsp; {bits:.3f} bits/{self.unit}")

    def _fit_y(self, log_p: np.ndarray) -> None:
        """Grow the y range in coarse jumps only, so that the axis is not re-laid out on every redraw."""
        finite = log_p[np.isfinite(log_p)]
        if finite.size == 0:
            return
        lo, hi = float(finite.min()), float(finite.max())
        ylo, yhi = self._yrange
        if lo < ylo or hi > yhi:
            self._yrange = (min(ylo, 1.5 * lo if lo < 0 else lo - 1.0), max(yhi, 1.5 * hi if hi > 0 else yhi))
            self.plot.setYRange(*self._yrange, padding=0)

    def mark(self, step: int | None) -> None:
        """Put the marker at ``step`` (None hides it)."""
        if step is None:
            self.marker.hide()
        else:
            self.marker.setPos(step)
            self.marker.show()
