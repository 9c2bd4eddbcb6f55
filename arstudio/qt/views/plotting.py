"""Plot widgets that keep count of the GUI thread's CPU time spent painting them.

Painting holds the GIL that the sampling thread needs, so the studio paces its redraws by what
they cost (see ``arstudio.qt.throttle``). Every plot and canvas of the studio derives from these.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
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


class GraphicsLayoutWidget(_TimedPaint, pg.GraphicsLayoutWidget):
    """``pg.GraphicsLayoutWidget`` whose painting time is counted."""
