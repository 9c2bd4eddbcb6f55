"""Coalesce bursts of updates into few redraws, paced by what a redraw costs the GUI thread.

Painting holds the GIL, so every millisecond the GUI thread spends drawing is a millisecond the
sampling thread cannot run. ``FrameThrottle`` measures each frame's CPU time (the update itself
plus the painting it causes) and spaces frames so that drawing stays near ``budget`` of the time:
~30 frames a second where drawing is cheap, fewer on a slow or busy machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from arstudio.qt.views.plotting import painted_seconds


class FrameThrottle(QObject):
    """Calls ``draw(*latest_args)`` at most once per frame interval; the newest arguments win.

    The first call in a quiet period draws at once; calls during the interval are coalesced and
    the latest is drawn when it ends, so the final state is always shown.
    """

    def __init__(self, draw: Callable[..., None], min_ms: int = 33, max_ms: int = 250, budget: float = 0.05,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._draw = draw
        self.min_ms, self.max_ms, self.budget = min_ms, max_ms, budget
        self.cost_s = 0.0  # smoothed CPU seconds per frame
        self._pending: tuple[Any, ...] | None = None
        self._frame_cpu = 0.0
        self._painted_at = painted_seconds()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(min_ms)
        self._timer.timeout.connect(self._on_timeout)

    @property
    def interval_ms(self) -> int:
        """The current spacing of frames."""
        return self._timer.interval()

    def __call__(self, *args: Any) -> None:
        """Ask for a redraw with ``args``."""
        if self._timer.isActive():
            self._pending = args
        else:
            self._run(args)
            self._timer.start()

    def discard(self) -> None:
        """Drop a pending redraw (its data went stale)."""
        self._pending = None

    def flush(self) -> None:
        """Draw a pending redraw now."""
        if self._pending is not None:
            args, self._pending = self._pending, None
            self._run(args)

    def _run(self, args: tuple[Any, ...]) -> None:
        painted = painted_seconds()
        cost = self._frame_cpu + (painted - self._painted_at)  # the previous frame, its painting included
        self.cost_s = cost if self.cost_s == 0 else 0.7 * self.cost_s + 0.3 * cost
        ms = self.cost_s / self.budget * 1000.0
        self._timer.setInterval(int(min(self.max_ms, max(self.min_ms, ms))))
        t = time.thread_time()
        self._draw(*args)
        self._frame_cpu = time.thread_time() - t
        self._painted_at = painted

    def _on_timeout(self) -> None:
        if self._pending is not None:
            self.flush()
            self._timer.start()
