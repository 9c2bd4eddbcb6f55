"""The attention view: for one token, each head's weights over the earlier tokens, one row per (layer, head).

Colour is the square root of the weight (brighter = more attention).

Rows are grouped by layer (layer 0 at the top); columns are the keys, BOS first. When there are
more keys than fit, only the last ``MAX_KEYS`` are drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget
from arstudio.qt.modalities.text.lists import quoted

MAX_KEYS = 48


class AttentionView(QWidget):
    """A heatmap of attention weights: rows (layer, head), columns earlier tokens."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("")
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setFixedHeight(self.caption.fontMetrics().lineSpacing() + 6)
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self._lines: list[pg.InfiniteLine] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(self.caption)
        lay.addWidget(self.plot, 1)
        self.weights: np.ndarray | None = None  # [layers * heads, keys] as drawn
        self.clear("Attention of the current token appears here.")

    def clear(self, message: str) -> None:
        """Draw nothing but ``message``."""
        self.image.clear()
        self.weights = None
        self.caption.setText(message)

    def show_attention(self, maps: list[np.ndarray], keys: list[str], title: str) -> None:
        """``maps``: per layer (heads, n_keys) weights over ``keys`` (BOS first)."""
        if not maps:
            self.clear("This model gives no attention weights.")
            return
        layers, heads = len(maps), maps[0].shape[0]
        w = np.concatenate([np.asarray(m, dtype=np.float32) for m in maps], 0)  # (layers * heads, n_keys)
        first = max(0, w.shape[1] - MAX_KEYS)
        w = w[:, first:]
        self.weights = w
        shown_w = np.sqrt(w)  # a square-root scale, so that weights spread over many keys stay visible
        self.image.setImage(shown_w, levels=(0.0, max(float(shown_w.max()), 1e-6)))
        self.image.setRect(0, 0, w.shape[1], w.shape[0])
        for line in self._lines:
            self.plot.removeItem(line)
        self._lines = []
        for layer in range(1, layers):
            line = pg.InfiniteLine(pos=layer * heads, angle=0, pen=pg.mkPen(theme.BACKGROUND, width=2))
            self.plot.addItem(line)
            self._lines.append(line)
        shown = keys[first:]
        step = max(1, math.ceil(len(shown) / 16))
        self.plot.getAxis("bottom").setTicks([[(i + 0.5, quoted(k, 8)) for i, k in enumerate(shown) if i % step == 0]])
        self.plot.getAxis("left").setTicks([[(layer * heads + heads / 2, f"L{layer}") for layer in range(layers)]])
        self.plot.setXRange(0, w.shape[1], padding=0)
        self.plot.setYRange(0, w.shape[0], padding=0)
        cropped = f" (last {MAX_KEYS} of {len(keys)} keys)" if first else ""
        self.caption.setText(f"<b>{title}</b> · {layers} layers × {heads} heads, √ weight{cropped}")
