"""The attention view: for one step, each head's attention over the past events drawn as arcs.

As in the Music Transformer paper's figure of attention arcs (Huang et al. 2018, Fig. 1 and 9):
the events lie along a line in step order, coloured by type, and every head draws arcs from the
event being predicted back to the events it attends to, in its own colour, thicker and more opaque
for more weight (relative to the head's largest weight, which the legend gives). The learned start
state is the key "S" before the first event. Each head draws its ``MAX_ARCS`` strongest keys,
bucketed into a few strengths, so a head costs a handful of curve items however long the run.
Hovering an event names it and lists the weight each head gives it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from arstudio.qt.modalities.music.event_dist import GROUP_COLOURS
from arstudio.modalities.music.performance import type_index
from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget

HEAD_COLOURS = ("#f0883e", "#56d364", "#58a6ff", "#f778ba", "#e3b341", "#a5d6ff", "#d2a8ff", "#ff7b72",
                "#7ee787", "#ffa657", "#79c0ff", "#bc8cff")
MIN_WEIGHT = 1e-3  # weights below this draw no arc
MAX_ARCS = 16  # per head
HEIGHT_POWER = 0.75  # an arc over d events rises to (d / window) ** HEIGHT_POWER: near keys low, far ones high
LEVELS = ((0.0, 1.0, 60), (0.25, 1.5, 120), (0.5, 2.2, 185), (0.8, 3.2, 255))  # weight / head's largest from, width, alpha
WINDOW = 96  # events shown before the query by default
ARC_POINTS = 25  # odd: the top of an arc is a point
MEAN = -1  # the layer choice "mean over layers"


def arc_points(keys: np.ndarray, query: float, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """x, y of half-ellipse arcs from each key to ``query`` (NaN between arcs); height grows with the distance."""
    if len(keys) == 0:
        return np.zeros(0), np.zeros(0)
    theta = np.linspace(0.0, np.pi, ARC_POINTS)
    k = np.asarray(keys, dtype=np.float64)[:, None]
    mid, half = (k + query) / 2, (query - k) / 2
    x = mid - half * np.cos(theta)[None]  # from the key (theta 0) to the query
    y = (np.abs(query - k) / scale) ** HEIGHT_POWER * np.sin(theta)[None]
    x = np.concatenate([x, np.full((len(k), 1), np.nan)], 1)
    y = np.concatenate([y, np.full((len(k), 1), np.nan)], 1)
    return x.ravel(), y.ravel()


def strongest(weights: np.ndarray) -> np.ndarray:
    """Positions of the arcs to draw for one head: its MAX_ARCS largest weights of at least MIN_WEIGHT."""
    w = np.asarray(weights)
    keep = np.flatnonzero(w >= MIN_WEIGHT)
    if len(keep) > MAX_ARCS:
        keep = keep[np.argsort(-w[keep], kind="stable")[:MAX_ARCS]]
    return np.sort(keep)


class AttentionArcsView(QWidget):
    """Arcs from the predicted event to the past events, one colour per head, for a chosen layer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("")
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setFixedHeight(self.caption.fontMetrics().lineSpacing() + 6)
        self.layer = QComboBox()
        self.layer.setToolTip("Which layer's heads to draw (or their mean)")
        self.head = QComboBox()
        self.head.setToolTip("All heads together, or one")
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.getAxis("left").hide()
        self.plot.setLabel("bottom", "event (step)")
        self.vb = self.plot.getPlotItem().getViewBox()
        self.events = pg.ScatterPlotItem(size=7, symbol="s", pen=None)
        self.query = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CURSOR, width=1.5))
        self.plot.addItem(self.events)
        self.plot.addItem(self.query)
        self.query.hide()
        self.curves: dict[tuple[int, int], pg.PlotCurveItem] = {}  # (head, level) -> arcs
        self.legend = pg.LegendItem(offset=(6, 4), labelTextColor=theme.FOREGROUND, colCount=4,
                                    brush=pg.mkBrush(theme.BACKGROUND + "d0"))
        self.legend.setParentItem(self.plot.getPlotItem().getViewBox())
        self._brushes = [pg.mkBrush(c) for c in GROUP_COLOURS] + [pg.mkBrush(theme.FOREGROUND)]
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.caption, 1)
        bar.addWidget(QLabel("layer"))
        bar.addWidget(self.layer)
        bar.addWidget(self.head)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        self.weights: np.ndarray | None = None  # [L, H, step + 1] over S, x_0 .. x_{step-1}
        self.step = -1
        self.title = ""
        self.labels: tuple[str, ...] = ()
        self.events_shown = np.zeros(0, np.int64)
        self.plot.scene().sigMouseMoved.connect(self._on_moved)
        self.layer.currentIndexChanged.connect(lambda _i: self._draw())
        self.head.currentIndexChanged.connect(lambda _i: self._draw())
        self.clear("The attention of the newest (or hovered) event appears here.")

    def clear(self, message: str) -> None:
        """Draw nothing but ``message``."""
        self.weights, self.step = None, -1
        for c in self.curves.values():
            c.setData([], [])
        self.events.setData([], [])
        self.query.hide()
        self.legend.clear()
        self.caption.setText(message)

    def _set_choices(self, layers: int, heads: int) -> None:
        if self.layer.count() == layers + 1 and self.head.count() == heads + 1:
            return
        for combo in (self.layer, self.head):
            combo.blockSignals(True)
            combo.clear()
        for i in range(layers):
            self.layer.addItem(f"{i + 1}", i)
        self.layer.addItem("mean", MEAN)
        self.layer.setCurrentIndex(layers - 1)  # the last layer, as the paper's figures
        self.head.addItem("all heads", -1)
        for h in range(heads):
            self.head.addItem(f"head {h + 1}", h)
        for combo in (self.layer, self.head):
            combo.blockSignals(False)

    def show_attention(self, weights: np.ndarray, events: np.ndarray, step: int, title: str = "") -> None:
        """``weights`` [layers, heads, step + 1] of the query predicting ``step``, over S then ``events[:step]``."""
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 3 or w.shape[-1] != step + 1:
            self.clear(f"attention of shape {w.shape} does not fit step {step}")
            return
        self.weights, self.step, self.title = w, int(step), title
        self._set_choices(w.shape[0], w.shape[1])
        ev = np.asarray(events[:step], dtype=np.int64)
        self.events_shown = ev
        kinds = np.concatenate([[4], type_index(ev)])  # S first
        self.events.setData(x=np.arange(-1, step, dtype=np.float64), y=np.zeros(step + 1),
                            brush=[self._brushes[k] for k in kinds.tolist()])
        self.query.setPos(step)
        self.query.show()
        self.plot.setXRange(max(-1.5, step - WINDOW), step + 1.5, padding=0)
        self._draw()

    def shown_weights(self) -> np.ndarray | None:
        """[heads, keys] of the chosen layer (or the layers' mean) as drawn, or None."""
        if self.weights is None:
            return None
        layer = self.layer.currentData()
        return self.weights.mean(0) if layer == MEAN or layer is None else self.weights[int(layer)]

    def _draw(self) -> None:
        w = self.shown_weights()
        for c in self.curves.values():
            c.setData([], [])
        self.legend.clear()
        if w is None:
            return
        chosen = self.head.currentData()
        heads = range(w.shape[0]) if chosen is None or chosen < 0 else [int(chosen)]
        query = float(self.step)
        scale = float(min(self.step + 1, WINDOW))  # an arc spanning the default window reaches the top
        drawn = 0
        for h in heads:
            keep = strongest(w[h])
            top = float(w[h].max())
            level = np.searchsorted([lv[0] for lv in LEVELS], w[h][keep] / max(top, 1e-12), side="right") - 1
            for li in range(len(LEVELS)):
                x, y = arc_points(keep[level == li] - 1.0, query, scale)  # key j is x_{j-1}; S at -1
                self._curve(h, li).setData(x, y, connect="finite")
            drawn += len(keep)
            self.legend.addItem(self._curve(h, len(LEVELS) - 1), f"h{h + 1} (max {top:.2f})")
        self.vb.setYRange(-0.08, 1.05, padding=0)
        self.caption.setText(f"<b>{self.title}</b> · each head's {MAX_ARCS} strongest keys")

    def describe(self, key: int) -> str:
        """What event ``key`` (-1: the start state) is and the weight each shown head gives it."""
        w = self.shown_weights()
        if w is None or not -1 <= key < self.step:
            return ""
        if key < 0:
            name = "S (the start state)"
        else:
            v = int(self.events_shown[key])
            name = f"step {key}: {self.labels[v] if 0 <= v < len(self.labels) else v}"
        weights = " ".join(f"h{h + 1} {w[h, key + 1]:.3f}" for h in range(w.shape[0]))
        return f"{name}\nweights: {weights}"

    def _on_moved(self, pos: object) -> None:
        if self.weights is None or not self.vb.sceneBoundingRect().contains(pos):
            return
        self.plot.setToolTip(self.describe(int(round(self.vb.mapSceneToView(pos).x()))))

    def _curve(self, head: int, level: int) -> pg.PlotCurveItem:
        key = (head, level)
        if key not in self.curves:
            _, width, alpha = LEVELS[level]
            colour = pg.mkColor(HEAD_COLOURS[head % len(HEAD_COLOURS)])
            colour.setAlpha(alpha)
            curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=width))
            curve.setZValue(-1 + level * 0.1)
            self.plot.addItem(curve)
            self.curves[key] = curve
        return self.curves[key]
