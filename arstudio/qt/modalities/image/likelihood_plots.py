"""The likelihood view's plots: a per-pixel NLL heatmap with a colour bar, and the held-out score histogram.

Both draw what they are given (numbers and captions come from the panel) and report the pixel
under the mouse; neither computes a score.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from arstudio.io.images import heat_lut
from arstudio.qt.views import theme
from arstudio.qt.views.plotting import GraphicsLayoutWidget, PlotWidget


def _caption(lines: int = 1) -> QLabel:
    label = QLabel("")
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setFixedHeight(lines * label.fontMetrics().lineSpacing() + 4)
    return label


class HeatmapView(QWidget):
    """A map [h, w] of NLL in nats per pixel, dark (likely) to bright (unlikely), with a colour bar."""

    pixel_hovered = Signal(int, int)  # row, column; (-1, -1) off the map

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = _caption(2)
        self.view = GraphicsLayoutWidget()
        self.view.setBackground(theme.BACKGROUND)
        self.plot = self.view.addPlot()
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.image.setLookupTable(heat_lut())
        # the colour bar: a gradient beside the map, in the same plot, with its ends labelled
        self.gradient = pg.ImageItem(np.arange(255, -1, -1, dtype=np.float32)[:, None], axisOrder="row-major")
        self.gradient.setLookupTable(heat_lut())
        self.gradient.setLevels((0, 255))
        self.top_label = pg.TextItem("", color=theme.FOREGROUND, anchor=(0, 0))
        self.low_label = pg.TextItem("0", color=theme.FOREGROUND, anchor=(0, 1))
        for item in (self.gradient, self.top_label, self.low_label):
            self.plot.addItem(item)
            item.hide()
        self.view.scene().sigMouseMoved.connect(self._on_move)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.caption)
        lay.addWidget(self.view, 1)
        self.values: np.ndarray | None = None
        self._hovered = (-1, -1)

    def show_map(self, values: np.ndarray, vmax: float, caption: str) -> None:
        """Draw ``values`` [h, w] on the scale 0 .. ``vmax`` nats."""
        self.values = np.asarray(values, dtype=np.float64)
        vmax = vmax if math.isfinite(vmax) and vmax > 0 else 1.0
        self.image.setImage(np.nan_to_num(self.values).astype(np.float32), autoLevels=False, levels=(0.0, vmax))
        self.image.show()
        h, w = self.values.shape
        self._set_scale(vmax, h, w)
        self.plot.setRange(xRange=(0, w * 1.45), yRange=(0, h), padding=0.02)
        self.caption.setText(caption)

    def _set_scale(self, vmax: float, h: int, w: int) -> None:
        bar_w = max(0.5, 0.07 * w)
        self.gradient.setRect(QRectF(w + 0.4 * bar_w, 0.0, bar_w, h))
        self.top_label.setText(f"{vmax:.2f} nats")
        self.top_label.setPos(w + 1.5 * bar_w, 0.0)
        self.low_label.setPos(w + 1.5 * bar_w, h)
        for item in (self.gradient, self.top_label, self.low_label):
            item.show()

    def clear(self, caption: str = "") -> None:
        """Show no map."""
        self.values = None
        for item in (self.image, self.gradient, self.top_label, self.low_label):
            item.hide()  # not ImageItem.clear(): in pyqtgraph 0.14 it leads to a crash in GC at exit
        self.caption.setText(caption)

    def _on_move(self, pos: object) -> None:
        rc = (-1, -1)
        if self.values is not None and self.plot.vb.sceneBoundingRect().contains(pos):
            p = self.plot.vb.mapSceneToView(pos)
            r, c = math.floor(p.y()), math.floor(p.x())
            if 0 <= r < self.values.shape[0] and 0 <= c < self.values.shape[1]:
                rc = (r, c)
        if rc != self._hovered:
            self._hovered = rc
            self.pixel_hovered.emit(*rc)


class ScoreHistogram(QWidget):
    """A histogram of held-out scores (bits/dim) with one image's score marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = _caption(2)
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("bottom", "NLL (bits/dim)")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setLabel("left", "images")
        self.plot.setMinimumHeight(110)
        self.hist = pg.PlotDataItem([], [], stepMode="center", fillLevel=0.0, pen=pg.mkPen(theme.BAR, width=1),
                                    fillBrush=pg.mkBrush(theme.BAR + "88"))
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CHOSEN, width=2.5))
        self.plot.addItem(self.hist)
        self.plot.addItem(self.marker)
        self.marker.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.caption)
        lay.addWidget(self.plot, 1)
        self.scores: np.ndarray | None = None

    def set_scores(self, scores: np.ndarray | None, bins: int = 30) -> None:
        """Draw the held-out scores (None: no distribution, the histogram is emptied)."""
        if scores is None or len(scores) == 0:
            self.scores = None
            self.hist.setData([], [])
            return
        self.scores = np.asarray(scores, dtype=np.float64)
        counts, edges = np.histogram(self.scores, bins=bins)
        self.hist.setData(edges, counts)
        self.plot.enableAutoRange()

    def mark(self, score: float | None, caption: str) -> None:
        """Mark ``score`` (bits/dim; None hides the marker) and caption it."""
        if score is None or not math.isfinite(score):
            self.marker.hide()
        else:
            self.marker.setPos(score)
            self.marker.show()
            if self.scores is not None:
                lo, hi = float(min(self.scores.min(), score)), float(max(self.scores.max(), score))
                pad = 0.05 * (hi - lo or 1.0)
                self.plot.setXRange(lo - pad, hi + pad, padding=0)
        self.caption.setText(caption)
