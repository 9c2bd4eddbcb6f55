"""Plot widgets that keep count of the GUI thread's CPU time spent painting them.

Painting holds the GIL that the sampling thread needs, so the studio paces its redraws by what
they cost (see ``arstudio.qt.throttle``). Every plot and canvas of the studio derives from these.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem

_painted = [0.0]

# pyqtgraph's LabelItem (every plot's title and axis labels) sets its ``_sizeHint`` table in its
# __init__ only after the QGraphicsWidget base is built; a size hint that Qt asks for in between
# (a layout pass reaching the half-built item, which a busy machine's timing makes likely) raised
# AttributeError inside a Qt virtual (pyqtgraph issue #472). A class-level default answers "no
# hint yet" (QSizeF(0, 0), as for an unknown hint) until the instance sets its own table.
if "_sizeHint" not in vars(pg.LabelItem):
    pg.LabelItem._sizeHint = {}


def painted_seconds() -> float:
    """CPU seconds the GUI thread has spent painting the studio's plots so far."""
    return _painted[0]


class _TimedPaint:
    def paintEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        t = time.thread_time()
        super().paintEvent(ev)  # type: ignore[misc]
        _painted[0] += time.thread_time() - t


class PlotWidget(_TimedPaint, pg.PlotWidget):
    """``pg.PlotWidget`` whose painting time is counted, its axes painted from a cached pixmap.

    pyqtgraph repaints every item a redraw exposes by calling its Python ``paint``; an axis whose
    range did not change would be painted again from its ``QPicture`` on each frame. With Qt's
    device-coordinate cache an axis is painted (in Python) only when it changes.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for name in ("left", "bottom", "right", "top"):
            self.getPlotItem().getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def nice_step(at_least: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``at_least`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(at_least))
    return next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= at_least * (1 - 1e-9))


class ReadableAxis(pg.AxisItem):
    """An axis whose tick labels never overlap, however short it is.

    pyqtgraph always labels its coarsest tick level, and on a short axis (the 60 px log p strip of a
    1280x800 window) that level's labels ran into each other ("0 -0.2 -0.4 ..." stacked). Here a
    level is kept only when its ticks lie at least ``spacing`` label heights (or widths) apart;
    when none does, one coarser 1-2-5 step that fits is used instead.
    """

    def __init__(self, orientation: str, spacing: float = 1.6, **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        self.spacing = spacing

    def _min_pixels(self) -> float:
        line = QFontMetricsF(self.style.get("tickFont") or self.font()).height()
        if self.orientation in ("left", "right"):
            return self.spacing * line
        return self.spacing * 4 * line  # a horizontal label is a few characters wide

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:  # noqa: N802 (pyqtgraph's name)
        levels = super().tickValues(minVal, maxVal, size)
        span = abs(maxVal - minVal)
        if size <= 0 or span == 0 or not math.isfinite(span):
            return levels
        least = self._min_pixels()
        keep = [(step, values) for step, values in levels if step / span * size >= least]
        if keep:
            return keep
        step = nice_step(span * least / size)
        lo, hi = min(minVal, maxVal), max(minVal, maxVal)
        first = math.ceil(lo / step) * step
        values = [round(v / step) * step for v in np.arange(first, hi + step * 1e-9, step)]
        return [(step, values)]


class GraphicsLayoutWidget(_TimedPaint, pg.GraphicsLayoutWidget):
    """``pg.GraphicsLayoutWidget`` whose painting time is counted."""
