"""The distribution view: p(x_t | x_<t) of one step as bars (discrete) or a curve (density).

It draws what it is given and reports clicks on a value; which step it shows, and what a click
means, is decided elsewhere. A compact view (the run record's: the most likely values of a large
support) is drawn as its bars, most likely first, then one faded bar for the mass of all the
others, named in the plot's corner. For an ordinal support (audio levels) ``set_value_order``
lays the bars out at their values instead, the whole support along the axis, so that a step's
kept entries stand where their values are.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from arstudio.core.dists import DistView
from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget

MAX_BARS = 64  # above this many values, only the TOP_BARS most probable are drawn, sorted
TOP_BARS = 40
LABEL_CHAR_PX = 7  # rough width of one character of a tick label, for spacing the labels


class DistPlot(QWidget):
    """Bars or a density curve for one distribution, the chosen value highlighted, H and log p shown."""

    value_clicked = Signal(object)  # a support value (int for bars, float for a density)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("No step yet: press Play.")
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setWordWrap(True)
        self.caption.setFixedHeight(2 * self.caption.fontMetrics().lineSpacing() + 6)  # no re-layout per redraw
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "p")
        self.plot.setToolTip("Click a value to force it at this step and sample on from there.")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=theme.BAR, pen=None)
        self.curve = pg.PlotDataItem([], [], pen=pg.mkPen(theme.BAR, width=2), fillLevel=0.0,
                                     fillBrush=pg.mkBrush(theme.BAR + "55"))
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CHOSEN, width=2))
        for item in (self.bars, self.curve, self.marker):
            self.plot.addItem(item)
        self.marker.hide()
        self._bar_brush, self._chosen_brush = pg.mkBrush(theme.BAR), pg.mkBrush(theme.CHOSEN)
        self._rest_brush = pg.mkBrush(theme.BAR + "55")  # the mass of the values a compact view leaves out
        self.rest_label = pg.TextItem("", color=theme.FOREGROUND, anchor=(1, 0))  # names that mass, top right
        self.plot.addItem(self.rest_label)
        self.rest_label.hide()
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.caption)
        lay.addWidget(self.plot, 1)
        self._shown: np.ndarray | None = None  # support value of each drawn bar
        self._kind: str | None = None
        self._axes: tuple | None = None  # what the axes are laid out for now
        self.by_value = False  # bars at their values over the whole support (ordinal values), not most likely first
        self.view: DistView | None = None
        self.chosen: float | None = None

    def clear(self, message: str = "No step yet: press Play.") -> None:
        """Show nothing but ``message``."""
        self.bars.setOpts(x=[], height=[])
        self.rest_label.hide()
        self.curve.setData([], [])
        self.marker.hide()
        self.caption.setText(message)
        self._shown, self._kind, self.view, self.chosen = None, None, None, None

    def show_dist(self, view: DistView, chosen: float | None = None, log_p: float | None = None,
                  title: str = "") -> None:
        """Draw row 0 of ``view``; highlight ``chosen``; print the entropy and log p under ``title``."""
        self.view, self.chosen = view, chosen
        probs = np.asarray(view.probs[0], dtype=np.float64)
        if view.kind == "density":
            self._draw_density(view.support, probs, chosen)
        else:
            self._draw_bars(view, probs, chosen)
        parts = [f"H = {float(view.entropy[0]):.3f} nats"]
        if chosen is not None and view.kind != "density":
            parts.append(f"chosen {self._label(view, int(chosen))}")
            parts.append(f"p = {float(np.exp(log_p)) if log_p is not None else float('nan'):.3f}")
        if log_p is not None:
            parts.append(f"log p = {log_p + 0.0:.3f}".replace("-0.000", "0.000"))
        self.caption.setText(f"<b>{title}</b><br>" + " &nbsp;·&nbsp; ".join(parts))

    def set_value_order(self, on: bool) -> None:
        """Lay out bars at their values along the whole support (True: ordinal values such as audio levels)."""
        if on != self.by_value:
            self.by_value, self._axes = on, None
            # level labels are long ("+0.0312"): room for the caption's second line to wrap once
            self.caption.setFixedHeight((3 if on else 2) * self.caption.fontMetrics().lineSpacing() + 6)

    @staticmethod
    def rest_text(view: DistView) -> str:
        """What a compact view says of the values it does not list: how many, and their total p."""
        n = view.others
        rest = float(view.rest[0]) if view.rest is not None else 0.0
        return f"other {n} value{'s' if n != 1 else ''}: p = {rest:.3f}"

    @staticmethod
    def _label(view: DistView, v: int) -> str:
        if view.labels is not None and 0 <= v < len(view.labels):
            return view.labels[v]
        return str(v)

    def _draw_bars(self, view: DistView, probs: np.ndarray, chosen: float | None) -> None:
        if self.by_value:
            self._draw_bars_by_value(view, probs, chosen)
            return
        support = np.asarray(view.support)
        if len(support) > MAX_BARS:
            keep = np.argsort(-probs, kind="stable")[:TOP_BARS]
            if chosen is not None and int(chosen) not in support[keep]:
                keep = np.append(keep[:-1], int(np.searchsorted(support, int(chosen))))
            support, probs = support[keep], probs[keep]
        x = np.arange(len(support))
        brushes = [self._chosen_brush if chosen is not None and s == chosen else self._bar_brush for s in support]
        heights = probs
        other = None
        if view.rest is not None and view.others:  # a compact view: one faded bar for all the values it leaves out
            other = "…"
            x, heights = np.append(x, len(support)), np.append(probs, float(view.rest[0]))
            brushes.append(self._rest_brush)
            self.rest_label.setText(self.rest_text(view))
            self.rest_label.setPos(len(x) - 0.4, 1.0)
            self.rest_label.show()
        else:
            self.rest_label.hide()
        self.bars.setOpts(x=x, height=heights, width=0.8, brushes=brushes)
        self.curve.setData([], [])
        self.marker.hide()
        ticks, (pad_left, pad_right) = self._spaced_ticks(view, support, chosen, other)
        key = ("bars", tuple(t for _, t in ticks))
        if key != self._axes:  # only a new support re-lays out the axes (not a new run of the same model)
            self._axes = key
            self.plot.getAxis("bottom").setTicks([ticks])
            self.plot.setLabel("bottom", "value")
            self.plot.setLabel("left", "p")
            self.plot.setXRange(-0.6 - pad_left, len(x) - 0.4 + pad_right, padding=0)
            self.plot.setYRange(0.0, 1.0, padding=0.02)
        self._shown, self._kind = support, "bars"  # the "other" bar is past the shown values: not clickable

    def _draw_bars_by_value(self, view: DistView, probs: np.ndarray, chosen: float | None) -> None:
        """Each listed value's bar at x = the value, over the whole support 0 .. n-1; the rest mass in a corner."""
        support = np.asarray(view.support)
        n = int(view.total or len(view.labels or ()) or (int(support.max()) + 1 if len(support) else 1))
        brushes = [self._chosen_brush if chosen is not None and s == chosen else self._bar_brush for s in support]
        self.bars.setOpts(x=support.astype(np.float64), height=probs, width=0.9, brushes=brushes)
        if view.rest is not None and view.others:
            self.rest_label.setText(self.rest_text(view))
            self.rest_label.setPos(n - 0.5, 1.0)
            self.rest_label.show()
        else:
            self.rest_label.hide()
        self.curve.setData([], [])
        self.marker.hide()
        first, last = self._label(view, 0), self._label(view, n - 1)
        px = self.caption.fontMetrics().horizontalAdvance  # the tick labels' font is the application's
        need = max(px(first), px(self._label(view, n // 2)), px(last)) + 16
        shown_px = self.plot.getPlotItem().getViewBox().width()  # 0 before the first layout
        width = max(80.0, shown_px if shown_px > 0 else self.plot.width() - 60.0)
        fits = max(2, int(width // need))
        every = 1 << max(0, math.ceil(math.log2(max(1.0, (n - 1) / (fits - 1)))))  # 1, 2, 4 ... values apart
        key = ("value", n, every, round(width / 40), view.labels is None)
        if key != self._axes:  # a new support or a resize re-lays out the axis, a new step does not
            self._axes = key
            at = list(range(0, n, every))
            if n - 1 - at[-1] >= every / 2:
                at.append(n - 1)
            minor = [(i, "") for i in range(0, n, max(1, every // 4)) if i not in at]  # unlabelled marks between
            self.plot.getAxis("bottom").setTicks([[(i, self._label(view, i)) for i in at], minor])
            self.plot.setLabel("bottom", "value")
            self.plot.setLabel("left", "p")
            per_value = width / n  # the end labels need half their width beside the first and last values
            left, right = ((px(t) + 16) / 2 / per_value for t in (first, last))
            self.plot.setXRange(-0.5 - left, n - 0.5 + right, padding=0)
            self.plot.setYRange(0.0, 1.0, padding=0.02)
        self._shown, self._kind = np.arange(n), "bars"  # any value of the support can be clicked

    def _spaced_ticks(self, view: DistView, support: np.ndarray, chosen: float | None, other: str | None = None
                      ) -> tuple[list[tuple[int, str]], tuple[float, float]]:
        """A label under every k-th bar, k as small as the plot's width allows without overlap, and the chosen one.

        Sorted views (many values) then name the most probable first; 17 or 64 grey levels read
        like a numeric axis. ``other`` labels one more bar after the values (a compact view's rest,
        "…"), always shown. Also returns the room (in bars) the first and last labels need beyond
        the bars, which the axis would otherwise drop as sticking out.
        """
        labels = [self._label(view, int(s)) for s in support]
        need = max((len(t) for t in labels), default=1) * LABEL_CHAR_PX + 8
        labels += [other] if other else []
        per_bar = max(80.0, self.plot.width() - 60.0) / max(1, len(labels))
        every = max(1, math.ceil(need / per_bar))
        at = [i for i, s in enumerate(support) if chosen is not None and s == chosen]
        c = at[0] if at else None  # the chosen bar is always named; grid labels too close to it give way

        last = len(labels) - 1 if other else None

        def shown(i: int) -> bool:
            if i == c or i == last:
                return True
            near = [j for j in (c, last) if j is not None]
            return i % every == 0 and all(abs(i - j) >= every for j in near)

        ticks = [(i, t if shown(i) else "") for i, t in enumerate(labels)]
        def room(text: str) -> float:
            return max(0.0, (len(text) * LABEL_CHAR_PX + 8) / 2 / per_bar - 0.5) if text else 0.0

        return ticks, (room(ticks[0][1]), room(ticks[-1][1])) if ticks else (0.0, 0.0)

    def _draw_density(self, grid: np.ndarray, dens: np.ndarray, chosen: float | None) -> None:
        self.bars.setOpts(x=[], height=[])
        self.rest_label.hide()
        self.curve.setData(np.asarray(grid, dtype=np.float64), dens)
        if chosen is not None:
            self.marker.setPos(float(chosen))
            self.marker.show()
        else:
            self.marker.hide()
        if self._axes != ("density", ()):
            self._axes = ("density", ())
            self.plot.getAxis("bottom").setTicks(None)
            self.plot.setLabel("bottom", "value")
            self.plot.setLabel("left", "density")  # a density, not a probability: it may pass 1
            self.plot.enableAutoRange()
        self._shown, self._kind = np.asarray(grid), "density"

    def _on_click(self, ev: object) -> None:
        if self._shown is None or len(self._shown) == 0:
            return
        vb = self.plot.getPlotItem().getViewBox()
        pos = ev.scenePos()  # type: ignore[attr-defined]
        if not vb.sceneBoundingRect().contains(pos):
            return
        x = vb.mapSceneToView(pos).x()
        if self._kind == "bars":
            i = int(round(x))
            if 0 <= i < len(self._shown) and abs(x - i) <= 0.45:
                self.value_clicked.emit(int(self._shown[i]))
        else:
            lo, hi = float(self._shown[0]), float(self._shown[-1])
            if lo <= x <= hi:
                self.value_clicked.emit(float(x))

    def click_value(self, value: float) -> None:
        """Act as if the user clicked ``value`` (for keyboard use and tests)."""
        self.value_clicked.emit(value)
