"""The next-event distribution of one step, grouped by event type: note-on, note-off, time shift, velocity.

All 388 events stand in id order, which puts each type together: four coloured bands, named on
the top axis, and a stacked bar above the plot that splits the step's mass between the four types. The most likely events are named over their bars ("ON E4", "SHIFT 120 ms"). Given
the whole distribution (the panel's analysis computes it), the group masses are exact; given only a
run record's kept entries (its most likely values and the rest mass), the mass not listed is shown
apart as "unlisted".
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from arstudio.modalities.music.performance import OFF, ON, SHIFT, TYPES, VELOCITY
from arstudio.qt.views import theme
from arstudio.qt.views.plotting import PlotWidget

GROUP_NAMES = ("ON", "OFF", "SHIFT", "VEL")
TYPE_TITLES = ("note-on", "note-off", "time shift", "velocity")
GROUP_COLOURS = ("#5b8def", "#a371f7", "#39c5cf", "#db61a2")  # on, off, shift, velocity
RANGES = (ON, OFF, SHIFT, VELOCITY)
UNLISTED = "#5c6370"
NAMED = 4  # the most likely events named over their bars


def group_masses(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The total probability of each event type [4] among ``values`` with ``probs``."""
    v, p = np.asarray(values, dtype=np.int64), np.asarray(probs, dtype=np.float64)
    return np.array([p[(v >= r.start) & (v < r.stop)].sum() for r in RANGES])


class GroupMassBar(QWidget):
    """One stacked bar: each type's share of the step's probability, named where it fits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.masses = np.zeros(4)
        self.unlisted = 0.0
        self.setFixedHeight(self.fontMetrics().lineSpacing() + 8)
        self.setToolTip("How the step's probability splits between the four event types")

    def set_masses(self, masses: np.ndarray, unlisted: float = 0.0) -> None:
        """The four types' masses and the mass of values not listed (a compact record's rest)."""
        self.masses, self.unlisted = np.asarray(masses, dtype=np.float64), float(unlisted)
        self.update()

    def segments(self) -> list[tuple[str, str, float]]:
        """(name, colour, mass) of each drawn segment, in order."""
        out = [(n, c, float(m)) for n, c, m in zip(GROUP_NAMES, GROUP_COLOURS, self.masses)]
        if self.unlisted > 0:
            out.append(("unlisted", UNLISTED, self.unlisted))
        return out

    def paintEvent(self, _ev: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(theme.BACKGROUND))
        total = max(1e-9, sum(m for _, _, m in self.segments()))
        x, w, h = 0.0, float(self.width()), float(self.height())
        fm = self.fontMetrics()
        for name, colour, mass in self.segments():
            width = w * mass / total
            rect = QRectF(x, 1.0, width, h - 2.0)
            p.fillRect(rect, QColor(colour))
            text = f"{name} {mass:.0%}"
            if fm.horizontalAdvance(text) + 6 > width:
                text = name if fm.horizontalAdvance(name) + 6 <= width else ""
            if text:
                p.setPen(QColor("#101114"))
                p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            x += width
        p.end()


class EventDistView(QWidget):
    """The 388-way distribution of a step as bars in id order, coloured by type, the chosen event marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("")
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setFixedHeight(self.caption.fontMetrics().lineSpacing() + 6)
        self.mass_bar = GroupMassBar()
        self.plot = PlotWidget(background=theme.BACKGROUND)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setLabel("left", "p")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        top = self.plot.getAxis("top")
        top.setTicks([[((r.start + r.stop - 1) / 2, name) for r, name in zip(RANGES, TYPE_TITLES)], []])
        top.setStyle(tickLength=0)
        self.plot.showAxis("top")
        self.vb = self.plot.getPlotItem().getViewBox()
        self.vb.setLimits(xMin=-2, xMax=VELOCITY.stop + 2, minXRange=12)
        self.bands = []
        for r, colour in zip(RANGES, GROUP_COLOURS):
            band = pg.LinearRegionItem((r.start - 0.5, r.stop - 0.5), movable=False, brush=pg.mkBrush(colour + "14"),
                                       pen=pg.mkPen(None))
            band.setZValue(-10)
            self.plot.addItem(band)
            self.bands.append(band)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.9, brush=theme.BAR, pen=None)
        self.plot.addItem(self.bars)
        self.chosen_mark = pg.ScatterPlotItem(size=10, symbol="t1", pen=None, brush=pg.mkBrush(theme.CHOSEN))
        self.plot.addItem(self.chosen_mark)  # the chosen event, seen however small its bar
        self.names = [pg.TextItem("", color=theme.FOREGROUND, anchor=(0.5, 1)) for _ in range(NAMED)]
        for item in self.names:
            self.plot.addItem(item)
        self.plot.getAxis("bottom").setTicks([self._ticks(), []])
        self._brushes = [pg.mkBrush(c) for c in GROUP_COLOURS]
        self._chosen_brush = pg.mkBrush(theme.CHOSEN)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setSpacing(2)
        lay.addWidget(self.caption)
        lay.addWidget(self.mass_bar)
        lay.addWidget(self.plot, 1)
        self.labels: tuple[str, ...] = ()
        self.values = np.zeros(0, np.int64)
        self.probs = np.zeros(0)
        self.masses = np.zeros(4)
        self.plot.scene().sigMouseMoved.connect(self._on_moved)
        self.clear("The next-event distribution appears here.")

    @staticmethod
    def _ticks() -> list[tuple[float, str]]:
        ticks = [(ON.start + p, f"C{p // 12 - 1}") for p in (36, 60, 84)]
        ticks += [(OFF.start + p, f"C{p // 12 - 1}") for p in (36, 60, 84)]
        ticks += [(SHIFT.start + 49, "0.5 s"), (SHIFT.stop - 1, "1 s")]
        return ticks

    def set_labels(self, labels: tuple[str, ...]) -> None:
        """The readable name of each event id ("ON C4", "SHIFT 120 ms" ...)."""
        self.labels = tuple(labels)

    def label(self, v: int) -> str:
        """The name of event ``v``."""
        return self.labels[v] if 0 <= v < len(self.labels) else str(v)

    def clear(self, message: str) -> None:
        """Draw nothing but ``message``."""
        self.values, self.probs, self.masses = np.zeros(0, np.int64), np.zeros(0), np.zeros(4)
        self.bars.setOpts(x=[], height=[])
        self.chosen_mark.setData([], [])
        for item in self.names:
            item.setText("")
        self.mass_bar.set_masses(np.zeros(4))
        self.caption.setText(message)
        self.plot.setXRange(-1, VELOCITY.stop, padding=0)
        self.plot.setYRange(0, 1, padding=0.02)

    def show_dist(self, values: np.ndarray, probs: np.ndarray, rest: float = 0.0, chosen: int | None = None,
                  title: str = "") -> None:
        """Bars for ``values`` with ``probs``; ``rest``: the mass of the values not listed; ``chosen`` marked."""
        v = np.asarray(values, dtype=np.int64)
        p = np.asarray(probs, dtype=np.float64)
        self.values, self.probs = v, p
        types = np.searchsorted([r.stop for r in RANGES], v, side="right").clip(0, 3)
        brushes = [self._chosen_brush if chosen is not None and int(x) == chosen else self._brushes[g]
                   for x, g in zip(v.tolist(), types.tolist())]
        self.bars.setOpts(x=v.astype(np.float64), height=p, width=0.9, brushes=brushes)
        self.chosen_mark.setData([float(chosen)] if chosen is not None else [], [0.0] if chosen is not None else [])
        self.masses = group_masses(v, p)
        self.mass_bar.set_masses(self.masses, rest)
        top = max(float(p.max()) if len(p) else 0.0, 1e-3) * 1.25
        self.plot.setYRange(0.0, top, padding=0)
        best = np.argsort(-p, kind="stable")[:NAMED]
        for item, i in zip(self.names, list(best) + [None] * NAMED):
            if i is None or p[i] < 0.02 * top:
                item.setText("")
                continue
            x = float(v[i])
            item.setText(self.label(int(v[i])))
            item.setAnchor((0.0, 1.0) if x < 30 else (1.0, 1.0) if x > VELOCITY.stop - 30 else (0.5, 1.0))
            item.setPos(x, float(p[i]))
        parts = [f"<b>{title}</b>"] if title else []
        if chosen is not None:
            at = np.flatnonzero(v == chosen)
            p_chosen = f" (p = {p[at[0]]:.3f})" if len(at) else ""
            parts.append(f"chosen <span style='color:{theme.CHOSEN}'>{self.label(chosen)}</span>{p_chosen}")
        if rest > 0:
            parts.append(f"top {len(v)} kept, {rest:.3f} unlisted")
        self.caption.setText(" · ".join(parts))

    def bar_at(self, x: float) -> int:
        """The event id of the bar at ``x`` (view coordinates) if it is drawn, else -1."""
        i = int(round(x))
        hit = np.flatnonzero(self.values == i)
        return i if len(hit) and abs(x - i) <= 0.5 else -1

    def _on_moved(self, pos: object) -> None:
        if not self.vb.sceneBoundingRect().contains(pos):
            return
        v = self.bar_at(self.vb.mapSceneToView(pos).x())
        if v < 0:
            self.plot.setToolTip("Each type's events in id order: note-on and note-off by pitch, time shifts "
                                 "10 ms .. 1 s, velocity bins")
            return
        p = float(self.probs[np.flatnonzero(self.values == v)[0]])
        self.plot.setToolTip(f"{self.label(v)}: p = {p:.4f} ({TYPES[int(np.searchsorted([r.stop for r in RANGES], v, side='right'))]})")
