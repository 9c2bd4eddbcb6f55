"""A single image the user draws on with the mouse: left button paints, right button erases.

It shows the RGB picture it is given, reports each pixel a stroke crosses (``pixel_painted``) and
the end of a stroke (``stroke_finished``), and can mark the rows that "complete from here" keeps.
What a stroke writes is decided by the panel.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent

from arstudio.qt.views import theme
from arstudio.qt.views.plotting import GraphicsLayoutWidget


def line_pixels(r0: int, c0: int, r1: int, c1: int) -> list[tuple[int, int]]:
    """The pixels on the segment from (r0, c0) to (r1, c1), both ends included (no gaps)."""
    n = max(abs(r1 - r0), abs(c1 - c0))
    if n == 0:
        return [(r0, c0)]
    return [(int(round(r0 + (r1 - r0) * i / n)), int(round(c0 + (c1 - c0) * i / n))) for i in range(n + 1)]


class ImageEditor(GraphicsLayoutWidget):
    """One h x w image, drawn large; reports mouse strokes as pixels."""

    pixel_painted = Signal(int, int, bool)  # row, column, erase
    stroke_finished = Signal()
    pixel_hovered = Signal(int, int)  # row, column; (-1, -1) off the image

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)
        self.setBackground(theme.BACKGROUND)
        self.vb = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.given_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(theme.GIVEN, width=2,
                                                                                 style=Qt.PenStyle.DashLine))
        self.vb.addItem(self.image)
        self.vb.addItem(self.given_line)
        self.given_line.hide()
        self.h, self.w = 0, 0
        self._erase: bool | None = None  # the button held: None when no stroke
        self._last: tuple[int, int] | None = None
        self._hovered = (-1, -1)
        self.setMouseTracking(True)
        self.setToolTip("Draw with the left mouse button, erase with the right.")

    def set_image(self, rgb: np.ndarray) -> None:
        """Show uint8 RGB [h, w, 3] (the view is refitted when the size changes)."""
        h, w = rgb.shape[:2]
        self.image.setImage(np.ascontiguousarray(rgb), autoLevels=False, levels=(0, 255))
        if (h, w) != (self.h, self.w):
            self.h, self.w = h, w
            self.vb.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)

    def set_given_rows(self, rows: int | None) -> None:
        """Draw a line under the first ``rows`` rows (None hides it)."""
        if rows is None or self.h == 0:
            self.given_line.hide()
        else:
            self.given_line.setPos(float(rows))
            self.given_line.show()

    def locate(self, x: float, y: float) -> tuple[int, int]:
        """(row, column) at view coordinates, or (-1, -1) off the image."""
        r, c = math.floor(y), math.floor(x)
        return (r, c) if 0 <= r < self.h and 0 <= c < self.w else (-1, -1)

    def _at(self, ev: QMouseEvent) -> tuple[int, int]:
        p = self.vb.mapSceneToView(self.mapToScene(ev.position().toPoint()))
        return self.locate(p.x(), p.y())

    def paint_at(self, row: int, col: int, erase: bool = False) -> None:
        """Act as a stroke through one pixel (for keyboard use and tests)."""
        if 0 <= row < self.h and 0 <= col < self.w:
            self.pixel_painted.emit(row, col, erase)

    def _stroke_to(self, rc: tuple[int, int]) -> None:
        if rc[0] < 0 or self._erase is None:
            self._last = None
            return
        path = line_pixels(*(self._last or rc), *rc)
        for r, c in path[1:] if self._last is not None else path:
            self.pixel_painted.emit(r, c, self._erase)
        self._last = rc

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        """Start a stroke: left paints, right erases."""
        if ev.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._erase = ev.button() == Qt.MouseButton.RightButton
            self._last = None
            self._stroke_to(self._at(ev))
            ev.accept()
            return
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        """Continue a stroke; report the pixel under the mouse."""
        rc = self._at(ev)
        if rc != self._hovered:
            self._hovered = rc
            self.pixel_hovered.emit(*rc)
        if self._erase is not None:
            self._stroke_to(rc)
        super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        """End the stroke."""
        if self._erase is not None:
            self._erase, self._last = None, None
            self.stroke_finished.emit()
            ev.accept()
            return
        super().mouseReleaseEvent(ev)

    def leaveEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        """Report that the mouse left the image."""
        if self._hovered != (-1, -1):
            self._hovered = (-1, -1)
            self.pixel_hovered.emit(-1, -1)
        super().leaveEvent(ev)

