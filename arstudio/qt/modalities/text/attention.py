"""The attention view: for one token, each head's weights over the earlier tokens, as a heatmap with a colour scale.

Rows are (layer, head) pairs, layer 0 at the top, or one row per layer when heads are averaged;
a layer or a single head can be picked. Columns are the keys, BOS first; when there are more than
``MAX_KEYS`` only the last are drawn. Colour is the square root of the weight, so that weights
spread over many keys stay visible; the colour bar is labelled in weights. Axis labels are thinned
to what fits the plot's size, so they never overlap; hovering a cell reads out its weight in the
caption. Heads start averaged (one row per layer), which stays readable in a small space.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from arstudio.qt.modalities.text.lists import quoted
from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget

MAX_KEYS = 48
KEY_CHARS = 6  # a key's label is cut to this many characters
SCALE_TICKS = (0.0, 0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
EACH, AVERAGE = -1, -2  # the head selector's first two entries


class AttentionView(QWidget):
    """A heatmap of attention weights: rows (layer, head) or layers, columns earlier tokens."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("")
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the panel
        self.layer = QComboBox()
        self.layer.setToolTip("Show every layer, or one")
        self.heads = QComboBox()
        self.heads.setToolTip("Show each head as a row, their average per layer, or one head")
        for box in (self.layer, self.heads):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(0.0, 1.0), width=12, colorMap=pg.colormap.get("viridis"),
                                          label="weight", interactive=False, colorMapMenu=False)
        self.colour_bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self._lines: list[pg.InfiniteLine] = []
        self.choosers = QWidget()
        row = QHBoxLayout(self.choosers)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Layer"), self.layer, QLabel("Heads"), self.heads):
            row.addWidget(w)
        top = QHBoxLayout()
        top.addWidget(self.choosers)
        top.addWidget(self.caption, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        self.maps: np.ndarray | None = None  # [layers, heads, keys] as given (the last MAX_KEYS keys)
        self.keys: list[str] = []
        self.weights: np.ndarray | None = None  # [rows, keys] as drawn
        self.rows: list[tuple[int, int | None]] = []  # (layer, head or None for the average) of each row
        self._summary = ""  # the caption when the mouse is over no cell
        self.layer.currentIndexChanged.connect(lambda _i: self._draw())
        self.heads.currentIndexChanged.connect(lambda _i: self._draw())
        self.plot.getViewBox().sigResized.connect(lambda *_: self._label_axes())
        self.plot.scene().sigMouseMoved.connect(self._on_mouse)
        self.clear("Attention of the current token appears here.")

    # ---- what it shows ----------------------------------------------------------------------------
    def clear(self, message: str) -> None:
        """Draw nothing but ``message`` (no grid, no labels, no scale)."""
        self.maps, self.weights, self.rows, self.keys = None, None, [], []
        self.image.clear()
        self._set_lines([])
        self.plot.getAxis("bottom").setTicks([[]])
        self.plot.getAxis("left").setTicks([[]])
        self.colour_bar.setVisible(False)
        self.choosers.setVisible(False)
        self._summary = html.escape(message)
        self.caption.setText(self._summary)
        self.caption.setToolTip(message)

    def show_attention(self, maps: list[np.ndarray], keys: list[str], title: str) -> None:
        """``maps``: per layer (heads, n_keys) weights over ``keys`` (BOS first)."""
        if not maps:
            self.clear("This model gives no attention weights.")
            return
        m = np.stack([np.asarray(a, dtype=np.float32) for a in maps])  # (layers, heads, keys)
        first = max(0, m.shape[2] - MAX_KEYS)
        self.maps, self.keys = m[:, :, first:], list(keys[first:])
        self._fill_choices(self.layer, ["all layers"] + [f"layer {i}" for i in range(m.shape[0])], 0)
        self._fill_choices(self.heads, ["each head", "average over heads"] + [f"head {i}" for i in range(m.shape[1])],
                           1)  # a new model starts with heads averaged
        self.choosers.setVisible(True)
        cropped = f" · last {MAX_KEYS} of {len(keys)} keys" if first else ""
        self._summary = f"<b>{title}</b> · {m.shape[0]} layers × {m.shape[1]} heads · colour: √ weight{cropped}"
        self.caption.setToolTip(self._summary)
        self._draw()

    @staticmethod
    def _fill_choices(box: QComboBox, items: list[str], start: int) -> None:
        """List ``items`` in ``box``, ``start`` chosen, unless it lists them already: then the user's choice stays."""
        if [box.itemText(i) for i in range(box.count())] == items:
            return
        box.blockSignals(True)
        box.clear()
        box.addItems(items)
        box.setCurrentIndex(start)
        box.blockSignals(False)

    def set_choice(self, layer: int | None = None, heads: int = EACH) -> None:
        """Pick a layer (None: all) and the heads: ``EACH``, ``AVERAGE`` or a head's index."""
        self.layer.setCurrentIndex(0 if layer is None else layer + 1)
        self.heads.setCurrentIndex({EACH: 0, AVERAGE: 1}.get(heads, heads + 2))

    # ---- drawing ----------------------------------------------------------------------------------
    def _draw(self) -> None:
        if self.maps is None:
            return
        m = self.maps
        n_layers, n_heads = m.shape[:2]
        layers = list(range(n_layers)) if self.layer.currentIndex() <= 0 else [self.layer.currentIndex() - 1]
        hi = self.heads.currentIndex()
        if hi <= 0:
            self.rows = [(layer, h) for layer in layers for h in range(n_heads)]
        elif hi == 1:
            self.rows = [(layer, None) for layer in layers]
        else:
            self.rows = [(layer, hi - 2) for layer in layers]
        w = np.stack([m[layer].mean(0) if h is None else m[layer, h] for layer, h in self.rows])
        self.weights = w
        top = max(float(w.max()), 1e-6)
        self.image.setImage(np.sqrt(w), autoLevels=False)
        self.image.setRect(0, 0, w.shape[1], w.shape[0])
        self.colour_bar.setVisible(True)
        self.colour_bar.setLevels((0.0, math.sqrt(top)))
        ticks = [v for v in SCALE_TICKS if v <= top] + ([top] if top < 0.99 else [])
        self.colour_bar.axis.setTicks([[(math.sqrt(v), f"{v:.2g}") for v in ticks]])
        each = hi <= 0 and len(layers) > 1
        self._set_lines([layer * n_heads for layer in range(1, n_layers)] if each else [])
        self.plot.setXRange(0, w.shape[1], padding=0)
        self.plot.setYRange(0, w.shape[0], padding=0)
        self.caption.setText(self._summary)
        self._label_axes()

    def _set_lines(self, rows: list[int]) -> None:
        for line in self._lines:
            self.plot.removeItem(line)
        self._lines = []
        for r in rows:
            line = pg.InfiniteLine(pos=r, angle=0, pen=pg.mkPen(theme.BACKGROUND, width=2))
            self.plot.addItem(line)
            self._lines.append(line)

    def _row_name(self, r: int) -> str:
        layer, h = self.rows[r]
        if h is None:
            return f"L{layer} avg"
        return f"L{layer} h{h}" if self.heads.currentIndex() <= 0 else f"L{layer}"

    def _label_axes(self) -> None:
        """Put as many key and row labels on the axes as fit without overlapping."""
        if self.weights is None:
            return
        vb = self.plot.getViewBox().sceneBoundingRect()
        n_rows, n_keys = self.weights.shape
        fm = QFontMetrics(self.plot.getAxis("bottom").font())
        names = [quoted(k, KEY_CHARS) for k in self.keys]
        label_w = max(fm.horizontalAdvance(n) for n in names) + 8
        every = max(1, math.ceil(label_w / max(vb.width() / n_keys, 1e-3)))
        self.plot.getAxis("bottom").setTicks([[(i + 0.5, n) for i, n in enumerate(names) if i % every == 0]])
        row_h = vb.height() / n_rows
        line_h = fm.height() + 1
        n_heads = self.maps.shape[1] if self.maps is not None else 1
        if row_h >= line_h or n_rows == 1:
            left = [(r + 0.5, self._row_name(r)) for r in range(n_rows)]
        elif self.heads.currentIndex() <= 0 and n_heads > 1 and self.layer.currentIndex() <= 0:
            step = max(1, math.ceil(line_h / (row_h * n_heads)))  # one label per layer, at its middle
            left = [(g * n_heads + n_heads / 2, f"L{g}") for g in range(0, n_rows // n_heads, step)]
        else:
            step = math.ceil(line_h / max(row_h, 1e-3))
            left = [(r + 0.5, self._row_name(r)) for r in range(0, n_rows, step)]
        self.plot.getAxis("left").setTicks([left])

    # ---- the mouse --------------------------------------------------------------------------------
    def weight_at(self, row: int, col: int) -> str:
        """A line naming the cell (row, col) and its weight."""
        layer, h = self.rows[row]
        head = "heads averaged" if h is None else f"head {h}"
        return f"layer {layer} · {head} → {quoted(self.keys[col], 16)}: {self.weights[row, col]:.3f}"

    def _on_mouse(self, pos: QPointF) -> None:
        if self.weights is None:
            return
        p = self.plot.getViewBox().mapSceneToView(pos)
        row, col = int(math.floor(p.y())), int(math.floor(p.x()))
        inside = 0 <= row < self.weights.shape[0] and 0 <= col < self.weights.shape[1]
        self.caption.setText(html.escape(self.weight_at(row, col)) if inside else self._summary)
