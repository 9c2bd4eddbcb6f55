"""Plot widgets that keep count of the GUI thread's CPU time spent painting them.

Painting holds the GIL that the sampling thread needs, so the studio paces its redraws by what
they cost (see ``arstudio.qt.throttle``). Every plot and canvas of the studio derives from these.
"""

from __future__ import annotations

import time

import pyqtgraph as pg

_painted = [0.0]


def painted_seconds() -> float:
    """CPU seconds the GUI thread has spent painting the studio's plots so far."""
    return _painted[0]


class _TimedPaint:
    def paintEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        t = time.thread_time()
        super().paintEvent(ev)  # type: ignore[misc]
        _painted[0] += time.thread_time() - t


class PlotWidget(_TimedPaint, pg.PlotWidget):
    """``pg.PlotWidget`` whose painting time is counted."""


class GraphicsLayoutWidget(_TimedPaint, pg.GraphicsLayoutWidget):
    """``pg.GraphicsLayoutWidget`` whose painting time is counted."""
