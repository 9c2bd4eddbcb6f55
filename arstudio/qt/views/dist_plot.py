"""The distribution view: p(x_t | x_<t) of one step as bars (discrete) or a curve (density).

It draws what it is given and reports clicks on a value; which step it shows, and what a click
means, is decided elsewhere. A compact view (the run record's: the most likely values of a large
support) is drawn as its bars, most likely first, then one faded bar for the mass of all the
others, named in the plot's corner. An ordinal support (values that are numbers in their own
right: grey levels, PixelCNN++'s 256 intensities; audio levels, which a panel asks for with
``set_value_order``) is laid out at its values instead, the whole support along the axis, so that
a step's kept entries stand where their values are.

Given the run's sampling policy, the bars are what the policy draws from (after temperature,
top-k, top-p), the model's own distribution faint behind them, and a line marks where top-k or
top-p cut.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from arstudio.core.dists import DistView
from arstudio.core.policy import SamplingPolicy
from arstudio.core.policy_bars import PolicyBars, describe, policy_bars
from arstudio.qt.views import theme
from arstudio.qt.views.dist_header import DistHeader, HeaderPart
from arstudio.qt.views.plotting import PlotWidget

MAX_BARS = 64  # above this many values, only the TOP_BARS most probable are drawn, sorted
TOP_BARS = 40
P_SCALES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)  # the p axis of bars by value over a large support


def p_scale(highest: float) -> float:
    """The top of the p axis for bars whose highest is ``highest``: the smallest of ``P_SCALES`` leaving 10% room.

    Over 256 audio levels each p is a few hundredths, and on a 0..1 axis the bars were flat lines; a
    coarse scale still moves only when the distribution's peak changes a lot, so the axis is not
    re-laid out on every step.
    """
    return next((top for top in P_SCALES if highest * 1.1 <= top), 1.0)
LABEL_CHAR_PX = 7  # rough width of one character of a tick label, for spacing the labels
ORDINAL_MAX = 4096  # an unlabelled support up to this size is a range of numbers (levels), drawn in value order
CUT = "#e5534b"  # the line where the policy cuts the distribution
MIN_BAR_PX = 2.5  # bars over a long ordinal support are widened to at least this many pixels


def is_ordinal(view: DistView) -> bool:
    """True for bars whose values are numbers in their own right (no labels: grey levels, intensities)."""
    return view.kind == "bars" and view.labels is None and int(view.total or len(view.support)) <= ORDINAL_MAX


class DistPlot(QWidget):
    """Bars or a density curve for one distribution, the chosen value highlighted, H and log p shown."""

    value_clicked = Signal(object)  # a support value (int for bars, float for a density)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = DistHeader("No step yet: press Play.")
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "p")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # p reads 0.02, not 20 under "p (x0.001)"
        self.plot.setToolTip("Click a value to force it at this step and sample on from there.")
        # the model's own distribution, faint behind the policy's bars when a policy changes it
        self.raw_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=theme.BAR + "50", pen=None)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=theme.BAR, pen=None)
        self.curve = pg.PlotDataItem([], [], pen=pg.mkPen(theme.BAR, width=2), fillLevel=0.0,
                                     fillBrush=pg.mkBrush(theme.BAR + "55"))
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CHOSEN, width=2))
        dash = pg.mkPen(CUT, width=1.5, style=Qt.PenStyle.DashLine)
        self.cut_line = pg.InfiniteLine(angle=90, movable=False, pen=dash)  # sorted bars: between kept and cut
        self.cut_level = pg.InfiniteLine(angle=0, movable=False, pen=dash)  # bars by value: the lowest kept p
        self.cut_label = pg.TextItem("", color=CUT, anchor=(0, 0))
        for item in (self.raw_bars, self.bars, self.curve, self.marker, self.cut_line, self.cut_level, self.cut_label):
            self.plot.addItem(item)
        for item in (self.marker, self.cut_line, self.cut_level, self.cut_label):
            item.hide()
        self._bar_brush, self._chosen_brush = pg.mkBrush(theme.BAR), pg.mkBrush(theme.CHOSEN)
        self._raw_brush, self._raw_chosen_brush = pg.mkBrush(theme.BAR + "50"), pg.mkBrush(theme.CHOSEN + "50")
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
        self.by_value = False  # the panel's choice: bars at their values (audio levels) whatever the view
        self.in_value_order = False  # whether the bars drawn now stand at their values (the panel's or the view's)
        self.view: DistView | None = None
        self.chosen: float | None = None
        self.policy_view: PolicyBars | None = None  # what the policy drew from, when it differs from the model's

    def clear(self, message: str = "No step yet: press Play.") -> None:
        """Show nothing but ``message``; the axes stay laid out for the next step of the same model."""
        self.bars.setOpts(x=[], height=[])
        self.raw_bars.setOpts(x=[], height=[])
        for item in (self.rest_label, self.marker, self.cut_line, self.cut_level, self.cut_label):
            item.hide()
        self.curve.setData([], [])
        self.caption.set_message(message)
        self._shown, self._kind, self.view, self.chosen, self.policy_view = None, None, None, None, None

    def reset(self, message: str = "No step yet: press Play.") -> None:
        """Forget the model too: no tick labels (an old model's tokens), axes as before any step."""
        self.clear(message)
        self._axes = None
        self.in_value_order = False
        self.plot.getAxis("bottom").setTicks([[], []])
        self.plot.setLabel("bottom", "value")
        self.plot.setLabel("left", "p")
        self.plot.setXRange(0.0, 1.0, padding=0.02)
        self.plot.setYRange(0.0, 1.0, padding=0.02)

    def show_dist(self, view: DistView, chosen: float | None = None, log_p: float | None = None,
                  title: str = "", policy: SamplingPolicy | None = None) -> None:
        """Draw row 0 of ``view``; highlight ``chosen``; print log p and the entropy under ``title``.

        With a ``policy`` that changes the distribution, the bars are the policy's and the model's are faint.
        """
        self.view, self.chosen = view, chosen
        probs = np.asarray(view.probs[0], dtype=np.float64)
        self.policy_view = None
        if view.kind == "density":
            self._draw_density(view.support, probs, chosen)
        else:
            self.policy_view = policy_bars(view, policy)
            self._draw_bars(view, probs, chosen, policy)
        parts = []
        if chosen is not None and view.kind != "density":
            parts.append(HeaderPart(f"chosen {self._label(view, int(chosen))}", 2, elide="chosen "))
            parts.append(HeaderPart(f"p = {float(np.exp(log_p)) if log_p is not None else float('nan'):.3f}", 1))
        if log_p is not None:
            parts.append(HeaderPart(f"log p = {log_p + 0.0:.3f}".replace("-0.000", "0.000"), 0))
        parts.append(HeaderPart(f"H = {float(view.entropy[0]):.3f} nats", 3))
        self.caption.set_step(title, parts)

    def set_value_order(self, on: bool) -> None:
        """Lay out bars at their values along the whole support (True: ordinal values such as audio levels).

        Off, a view without labels (grey levels, intensities) is still laid out at its values.
        """
        if on != self.by_value:
            self.by_value, self._axes = on, None

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

    def _brushes(self, support: np.ndarray, chosen: float | None, raw: bool = False) -> list:
        on, off = (self._raw_chosen_brush, self._raw_brush) if raw else (self._chosen_brush, self._bar_brush)
        return [on if chosen is not None and s == chosen else off for s in support]

    def _draw_bars(self, view: DistView, probs: np.ndarray, chosen: float | None,
                   policy: SamplingPolicy | None) -> None:
        self.in_value_order = self.by_value or is_ordinal(view)
        if self.in_value_order:
            self._draw_bars_by_value(view, probs, chosen, policy)
            return
        pol = self.policy_view
        support = np.asarray(view.support)
        shown, kept = (probs, None) if pol is None else (pol.probs, pol.kept)  # the bars' heights, what the policy keeps
        if len(support) > MAX_BARS:
            keep = np.argsort(-probs, kind="stable")[:TOP_BARS]
            if chosen is not None and int(chosen) not in support[keep]:
                keep = np.append(keep[:-1], int(np.searchsorted(support, int(chosen))))
            support, probs, shown = support[keep], probs[keep], shown[keep]
            kept = None if kept is None else kept[keep]
        x = np.arange(len(support), dtype=np.float64)
        brushes, raw_brushes = self._brushes(support, chosen), self._brushes(support, chosen, raw=True)
        other = None
        if view.rest is not None and view.others:  # a compact view: one faded bar for all the values it leaves out
            other = "…"
            rest = float(view.rest[0])
            x, probs = np.append(x, len(support)), np.append(probs, rest)
            shown = np.append(shown, rest if pol is None else pol.rest)
            if kept is not None:
                kept = np.append(kept, pol.rest > 0)
            brushes.append(self._rest_brush)
            raw_brushes.append(self._raw_brush)
            self.rest_label.setText(self.rest_text(view))
            self.rest_label.setPos(len(x) - 0.4, 1.0)
            self.rest_label.show()
        else:
            self.rest_label.hide()
        self.bars.setOpts(x=x, height=shown, width=0.8 if pol is None else 0.5, brushes=brushes)
        self.raw_bars.setOpts(x=x if pol is not None else [], height=probs if pol is not None else [],
                              width=0.8, brushes=raw_brushes)
        self.curve.setData([], [])
        self.marker.hide()
        self.cut_level.hide()
        cut = None if kept is None or kept.all() else int(np.argmin(kept))  # most likely first: kept values lead
        if cut is not None:
            self.cut_line.setPos(cut - 0.5)
            self.cut_line.show()
            self._show_cut_label(cut - 0.45, 0.82, (0, 0), policy)
        else:
            self.cut_line.hide()
            self._show_cut_label(None, 0, (0, 0), policy)
        ticks, (pad_left, pad_right) = self._spaced_ticks(view, support, chosen, other)
        key = ("bars", tuple(t for _, t in ticks), self._policy_key(policy))
        if key != self._axes:  # only a new support re-lays out the axes (not a new run of the same model)
            self._axes = key
            self.plot.getAxis("bottom").setTicks([ticks])
            self._label_axes(policy)
            self.plot.setXRange(-0.6 - pad_left, len(x) - 0.4 + pad_right, padding=0)
            self.plot.setYRange(0.0, 1.0, padding=0.02)
        self._shown, self._kind = support, "bars"  # the "other" bar is past the shown values: not clickable

    def _policy_key(self, policy: SamplingPolicy | None) -> str:
        return describe(policy) if self.policy_view is not None and policy is not None else ""

    def _label_axes(self, policy: SamplingPolicy | None) -> None:
        said = self._policy_key(policy)
        self.plot.setLabel("bottom", f"value · bars: {said} · faint: the model's p" if said else "value")
        self.plot.setLabel("left", "p")

    def _show_cut_label(self, x: float | None, y: float, anchor: tuple[float, float],
                        policy: SamplingPolicy | None) -> None:
        """Name the cut beside its line: how many values the policy keeps of how many."""
        pol, view = self.policy_view, self.view
        if x is None or pol is None or view is None or policy is None:
            self.cut_label.hide()
            return
        total = int(view.total or len(view.support))
        n = int(pol.kept.sum()) + (view.others if pol.rest > 0 else 0)
        self.cut_label.setText(f"{'≈ ' if not pol.exact else ''}{describe(policy)}: {n} of {total} kept")
        self.cut_label.setAnchor(anchor)
        self.cut_label.setPos(x, y)
        self.cut_label.show()

    def _draw_bars_by_value(self, view: DistView, probs: np.ndarray, chosen: float | None,
                            policy: SamplingPolicy | None) -> None:
        """Each listed value's bar at x = the value, over the whole support 0 .. n-1; the rest mass in a corner."""
        pol = self.policy_view
        support = np.asarray(view.support)
        n = int(view.total or len(view.labels or ()) or (int(support.max()) + 1 if len(support) else 1))
        x = support.astype(np.float64)
        shown_px = self.plot.getPlotItem().getViewBox().width()  # 0 before the first layout
        width = max(80.0, shown_px if shown_px > 0 else self.plot.width() - 60.0)
        bar = max(0.9, MIN_BAR_PX * n / width)  # 256 levels in 300 px: a bar of 0.9 values would be 1 px
        self.bars.setOpts(x=x, height=probs if pol is None else pol.probs, width=bar,
                          brushes=self._brushes(support, chosen))
        self.raw_bars.setOpts(x=x if pol is not None else [], height=probs if pol is not None else [], width=bar,
                              brushes=self._brushes(support, chosen, raw=True))
        highest = max(float(probs.max(initial=0.0)), float(pol.probs.max(initial=0.0)) if pol is not None else 0.0)
        top = 1.0 if n <= MAX_BARS else p_scale(highest)  # a few values read on 0..1; 256 levels need their scale
        if view.rest is not None and view.others:
            self.rest_label.setText(self.rest_text(view))
            self.rest_label.setPos(n - 0.5, top)
            self.rest_label.show()
        else:
            self.rest_label.hide()
        self.curve.setData([], [])
        self.marker.hide()
        self.cut_line.hide()
        if pol is not None and not (pol.kept.all() and (pol.rest > 0 or not view.others)):
            level = float(probs[pol.kept].min()) if pol.kept.any() else 0.0  # the values below it are cut
            self.cut_level.setPos(level)
            self.cut_level.show()
            self._show_cut_label(n - 0.5, level, (1, 1), policy)
        else:
            self.cut_level.hide()
            self._show_cut_label(None, 0, (1, 1), policy)
        first, last = self._label(view, 0), self._label(view, n - 1)
        px = self.caption.fontMetrics().horizontalAdvance  # the tick labels' font is the application's
        need = max(px(first), px(self._label(view, n // 2)), px(last)) + 16
        fits = max(2, int(width // need))
        every = 1 << max(0, math.ceil(math.log2(max(1.0, (n - 1) / (fits - 1)))))  # 1, 2, 4 ... values apart
        key = ("value", n, every, round(width / 40), view.labels is None, self._policy_key(policy), top)
        if key != self._axes:  # a new support or a resize re-lays out the axis, a new step does not
            self._axes = key
            at = list(range(0, n, every))
            if n - 1 - at[-1] >= every / 2:
                at.append(n - 1)
            minor = [(i, "") for i in range(0, n, max(1, every // 4)) if i not in at]  # unlabelled marks between
            self.plot.getAxis("bottom").setTicks([[(i, self._label(view, i)) for i in at], minor])
            self._label_axes(policy)
            per_value = width / n  # the end labels need half their width beside the first and last values
            left, right = ((px(t) + 16) / 2 / per_value for t in (first, last))
            self.plot.setXRange(-0.5 - left, n - 0.5 + right, padding=0)
            self.plot.setYRange(0.0, top, padding=0.02)
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
        self.raw_bars.setOpts(x=[], height=[])
        for item in (self.rest_label, self.cut_line, self.cut_level, self.cut_label):
            item.hide()
        self.in_value_order = False
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
