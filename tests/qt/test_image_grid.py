"""The sample grid (issue 11): rings that leave their pixel visible, a layout that uses the room, enlarging a sample."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from arstudio.qt.modalities.image.grid import PAD, ImageGridCanvas, grid_shape
from arstudio.qt.views import theme


def canvas_of(qtbot, n: int, h: int, w: int, size: tuple[int, int], value: int = 255) -> ImageGridCanvas:
    c = ImageGridCanvas()
    qtbot.addWidget(c)
    c.resize(*size)
    c.show()
    qtbot.waitExposed(c)
    c.set_grid(n, h, w)
    c.set_cells(np.full((n, h, w, 3), value, dtype=np.uint8))
    qtbot.wait(20)
    return c


def screen_pos(c: ImageGridCanvas, sample: int, row: int, col: int) -> QPointF:
    """Where the centre of pixel (row, col) of ``sample`` is, in the canvas widget's coordinates."""
    r = c.cell_rect(sample)
    scene = c.vb.mapViewToScene(QPointF(r.x() + col + 0.5, r.y() + row + 0.5))
    return QPointF(c.viewportTransform().map(scene))


def mouse(c: ImageGridCanvas, kinds: tuple[QEvent.Type, ...], p: QPointF) -> None:
    """Send the left button's events ``kinds`` at ``p``, as the window system does (a double click: press,
    release, double click, release)."""
    for kind in kinds:
        held = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
        ev = QMouseEvent(kind, p, c.viewport().mapToGlobal(p), Qt.MouseButton.LeftButton, held,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(c.viewport(), ev)


CLICK = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease)
DOUBLE = CLICK + (QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseButtonRelease)


def colour_at(c: ImageGridCanvas, p: QPointF) -> tuple[int, int, int]:
    img = c.grab().toImage()
    ratio = img.devicePixelRatio()
    q = QColor(img.pixel(int(p.x() * ratio), int(p.y() * ratio)))
    return q.red(), q.green(), q.blue()


@pytest.mark.parametrize("size", [(420, 420), (900, 900)])
def test_the_cursor_ring_leaves_its_pixel_visible(qtbot, size):
    c = canvas_of(qtbot, 64, 28, 28, size)  # 64 white samples: pixels of a few screen pixels
    c.set_cursor((5, 5))
    c.set_hover(3, 10, 12)
    c.set_marks([(7, 20, 4)])
    qtbot.wait(20)
    for sample, row, col in ((0, 5, 5), (3, 10, 12), (7, 20, 4), (63, 5, 5)):
        assert colour_at(c, screen_pos(c, sample, row, col)) == (255, 255, 255)  # the pixel itself is not covered
    # the ring is there, just outside the pixel
    p = screen_pos(c, 0, 5, 5)
    px = 1 / c.vb.viewPixelSize()[0]
    found = [colour_at(c, QPointF(p.x() + px / 2 + d, p.y())) for d in (1.5, 2, 2.5, 3)]
    orange = theme.rgb(theme.CURSOR)
    assert any(sum(abs(a - b) for a, b in zip(f, orange)) < 90 for f in found), found


def test_the_grid_takes_the_rows_and_columns_that_make_samples_largest():
    assert grid_shape(16) == (4, 4)  # no room known: near square
    assert grid_shape(16, (1000, 400), (28, 28)) == (3, 6)  # a wide canvas: a wide grid
    assert grid_shape(16, (400, 1000), (28, 28)) == (6, 3)
    assert grid_shape(16, (1200, 300), (8, 8)) == (2, 8)
    assert grid_shape(64, (700, 700), (28, 28)) == (8, 8)
    assert grid_shape(3, (900, 300), (8, 8)) == (1, 3)
    rows, cols = grid_shape(64, (1200, 700), (28, 28))
    assert rows * cols >= 64 and cols > rows


def test_a_wide_canvas_lays_the_samples_out_wide_and_still_finds_them(qtbot):
    c = canvas_of(qtbot, 16, 8, 8, (400, 400))
    assert (c.rows, c.cols) == (4, 4)
    c.resize(1200, 300)
    qtbot.waitUntil(lambda: (c.rows, c.cols) == (2, 8), timeout=20000)
    r = c.cell_rect(11)
    assert (r.x(), r.y()) == (PAD + 3 * 9, PAD + 9)
    assert c.locate(r.x() + 2.5, r.y() + 6.5) == (11, 6, 2)


def test_double_click_enlarges_a_sample_and_again_shows_all(qtbot):
    c = canvas_of(qtbot, 16, 8, 8, (500, 500))
    full = c.vb.viewRange()
    p = screen_pos(c, 6, 3, 3)
    clicked: list[tuple[int, int, int]] = []
    c.pixel_clicked.connect(lambda *hit: clicked.append(hit))
    mouse(c, DOUBLE, p)
    qtbot.waitUntil(lambda: c.enlarged == 6, timeout=20000)
    (x0, x1), (y0, y1) = c.vb.viewRange()
    r = c.cell_rect(6)
    assert x0 <= r.left() and x1 >= r.right() and y0 <= r.top() and y1 >= r.bottom()
    assert min(x1 - x0, y1 - y0) < r.width() + 2  # the sample fills the canvas
    assert 1 / c.vb.viewPixelSize()[0] > 40  # its pixels are large now
    # a plain click on the enlarged sample still picks its pixel
    p = screen_pos(c, 6, 2, 5)
    mouse(c, CLICK, p)
    assert clicked[-1] == (6, 2, 5)
    mouse(c, DOUBLE, p)
    qtbot.waitUntil(lambda: c.enlarged == -1, timeout=20000)
    assert np.allclose(c.vb.viewRange(), full)
    c.enlarge(2)
    qtbot.keyClick(c, Qt.Key.Key_Escape)
    assert c.enlarged == -1


def test_the_wheel_zooms_and_zooming_out_fits_the_grid_again(qtbot):
    c = canvas_of(qtbot, 16, 8, 8, (500, 500))
    full = c.vb.viewRange()
    p = screen_pos(c, 5, 4, 4)

    def wheel(delta: int) -> None:
        ev = QWheelEvent(p, c.mapToGlobal(p), QPoint(0, 0), QPoint(0, delta), Qt.MouseButton.NoButton,
                         Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        c.wheelEvent(ev)

    wheel(480)
    (x0, x1), _ = c.vb.viewRange()
    assert c.zoomed and x1 - x0 < (full[0][1] - full[0][0]) * 0.7
    for _ in range(6):
        wheel(-480)
    assert not c.zoomed and np.allclose(c.vb.viewRange(), full)
