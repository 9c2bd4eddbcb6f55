"""A grid of small images drawn as one RGB ``ImageItem``, with places outlined; a sample can be enlarged.

The canvas lays its cells out in the rows and columns that make them largest in the room it has,
draws the pixels it is given, and outlines places (the pixel being written, the one under the
mouse, forced values) with rings drawn just outside the pixel, so the pixel stays visible. It
reports which (sample, row, column) the mouse is over or clicked. A double click enlarges a sample
to the whole canvas (another double click, or Esc, shows them all); the mouse wheel zooms and a
drag pans. It knows nothing of steps, models or runs.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal

from arstudio.qt.views import theme
from arstudio.qt.views.plotting import GraphicsLayoutWidget

PAD = 1  # pixels between cells
RING_DARK = "#0b0c0e"  # the inner ring of an outline: dark, so the coloured ring reads on light pixels too


def cells_rgb(unit: np.ndarray) -> np.ndarray:
    """Brightness [N, C, H, W] in [0, 1] (C = 1 grey, or 3 RGB) as cells [N, H, W, 3] uint8; NaN (not sampled) slate."""
    x = np.asarray(unit, dtype=np.float64)
    rgb = (x[:, :3] if x.shape[1] >= 3 else np.repeat(x[:, :1], 3, axis=1)).transpose(0, 2, 3, 1)  # (N, H, W, 3)
    out = np.rint(np.clip(np.nan_to_num(rgb), 0.0, 1.0) * 255).astype(np.uint8)
    out[np.isnan(rgb).any(axis=-1)] = theme.UNFILLED
    return out


def grid_shape(n: int, room: tuple[float, float] | None = None, cell: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """(rows, columns) for n cells of ``cell`` (h, w) pixels: the largest cells in ``room`` (width, height).

    Without a room, a near-square grid. Of layouts whose cells are as large, the one with fewest empty cells.
    """
    n = max(1, n)
    if room is None or room[0] <= 0 or room[1] <= 0:
        ncol = math.ceil(math.sqrt(n))
        return math.ceil(n / ncol), ncol
    ch, cw = cell[0] + PAD, cell[1] + PAD
    best: tuple[float, int, int, int] | None = None  # scale, empty cells, rows, columns
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        scale = min(room[0] / (cols * cw + PAD), room[1] / (rows * ch + PAD))
        empty = rows * cols - n
        if best is None or scale > best[0] * 1.001 or (scale > best[0] * 0.999 and empty < best[1]):
            best = (scale, empty, rows, cols)
    assert best is not None
    return best[2], best[3]


class Outline:
    """Places ringed just outside their pixel: a 1 px dark ring half a pixel off its edge, a 2 px coloured one around it."""

    def __init__(self, view: pg.ViewBox, colour: str, z: float) -> None:
        self.dark = pg.ScatterPlotItem(pxMode=True, symbol="s", brush=None, pen=pg.mkPen(RING_DARK, width=1))
        self.ring = pg.ScatterPlotItem(pxMode=True, symbol="s", brush=None, pen=pg.mkPen(colour, width=2))
        for item in (self.dark, self.ring):
            item.setZValue(z)
            view.addItem(item)
        self.pixel = 1.0  # screen pixels per image pixel

    def sizes(self) -> tuple[float, float]:
        """The dark and the coloured ring's symbol sizes (screen pixels) around one image pixel."""
        return self.pixel + 2.0, self.pixel + 5.0

    def set_places(self, xs: list[float], ys: list[float]) -> None:
        """Ring the pixels centred at (xs, ys) in view coordinates."""
        dark, ring = self.sizes()
        self.dark.setData(xs, ys, size=dark)
        self.ring.setData(xs, ys, size=ring)

    def set_pixel(self, pixel: float) -> None:
        """The image pixels are ``pixel`` screen pixels wide now: resize the rings."""
        if abs(pixel - self.pixel) < 0.05:
            return
        self.pixel = pixel
        dark, ring = self.sizes()
        if len(self.ring.data):
            self.dark.setSize(dark)
            self.ring.setSize(ring)


class ImageGridCanvas(GraphicsLayoutWidget):
    """N images of h x w pixels in a grid that fits the canvas; outlines for the cursor, the hover and marks."""

    pixel_hovered = Signal(int, int, int)  # sample, row, column; (-1, -1, -1) when off the images
    pixel_clicked = Signal(int, int, int)
    layout_changed = Signal()  # the cells moved (a new grid, or a resize that changed the rows and columns)
    view_changed = Signal()  # a sample was enlarged, or the view zoomed, or all samples are shown again

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)
        self.setBackground(theme.BACKGROUND)
        self.ci.layout.setContentsMargins(0, 0, 0, 0)
        self.vb = self.addViewBox(lockAspect=True, invertY=True, enableMouse=True, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.vb.addItem(self.image)
        self.marks = Outline(self.vb, theme.FORCED, 6)
        self.cursor = Outline(self.vb, theme.CURSOR, 7)
        self.hover = Outline(self.vb, theme.HOVER, 8)
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.vb.sigTransformChanged.connect(self._on_transform)
        self.vb.sigRangeChangedManually.connect(self._on_manual_range)
        self.n, self.h, self.w = 0, 0, 0
        self.rows, self.cols = 1, 1
        self.enlarged = -1  # the sample shown alone, or -1
        self.zoomed = False  # the view was zoomed or panned by hand
        self._hovered = (-1, -1, -1)
        self._cursor_key: object = None  # what the cursor and hover outlines show now
        self._hover_key: object = None
        self._cursor: tuple[int, int] | None = None
        self._hover = (-1, -1, -1)
        self._marked: list[tuple[int, int, int]] = []
        self.cells = np.zeros((0, 0, 0, 3), dtype=np.uint8)
        self.rgb = np.zeros((1, 1, 3), dtype=np.uint8)

    # ---- the grid ------------------------------------------------------------------------------
    def room(self) -> tuple[float, float]:
        """The canvas's size in screen pixels (the view fills it)."""
        return float(self.width()), float(self.height())

    def set_grid(self, n: int, h: int, w: int) -> None:
        """Lay out n empty cells of h x w pixels."""
        self.n, self.h, self.w = n, h, w
        cells = np.empty((n, h, w, 3), dtype=np.uint8)
        cells[...] = theme.UNFILLED
        self.cells = cells
        if self.enlarged >= n:
            self.enlarged = -1
        self._cursor, self._hover, self._marked = None, (-1, -1, -1), []
        self._cursor_key = self._hover_key = None  # a new grid: draw both outlines afresh
        self._layout(force=True)

    def _layout(self, force: bool = False) -> None:
        shape = grid_shape(self.n, self.room(), (self.h, self.w))
        if shape == (self.rows, self.cols) and not force:
            return
        self.rows, self.cols = shape
        self._tile()
        self._place_outlines()
        self._fit()
        self.layout_changed.emit()

    def resizeEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        """Lay the cells out again when other rows and columns make them larger."""
        super().resizeEvent(ev)
        if getattr(self, "n", 0):  # pyqtgraph resizes before __init__ is through
            self._layout()
            if self.enlarged >= 0:
                self._fit()

    def set_cells(self, cells: np.ndarray) -> None:
        """Draw cells [N, h, w, 3] uint8 (N as given to ``set_grid``)."""
        self.cells = cells
        self._tile()

    def _tile(self) -> None:
        n, h, w = self.n, self.h, self.w
        tiles = np.empty((self.rows * self.cols, h + PAD, w + PAD, 3), dtype=np.uint8)
        tiles[...] = theme.rgb(theme.BACKGROUND)
        if len(self.cells) == n:
            tiles[:n, :h, :w] = self.cells
        big = tiles.reshape(self.rows, self.cols, h + PAD, w + PAD, 3).transpose(0, 2, 1, 3, 4)
        big = big.reshape(self.rows * (h + PAD), self.cols * (w + PAD), 3)
        self.rgb = np.pad(big, ((PAD, 0), (PAD, 0), (0, 0)), constant_values=0)
        self.rgb[:PAD, :] = theme.rgb(theme.BACKGROUND)
        self.rgb[:, :PAD] = theme.rgb(theme.BACKGROUND)
        self.image.setImage(self.rgb, autoLevels=False, levels=(0, 255))

    def cell_rect(self, sample: int) -> QRectF:
        """Cell ``sample``'s pixels in view coordinates."""
        gr, gc = divmod(sample, self.cols)
        return QRectF(PAD + gc * (self.w + PAD), PAD + gr * (self.h + PAD), self.w, self.h)

    # ---- enlarging and zooming -----------------------------------------------------------------
    def enlarge(self, sample: int) -> None:
        """Show sample ``sample`` alone, as large as the canvas allows (a sample out of range: all)."""
        if not 0 <= sample < self.n:
            self.show_all()
            return
        self.enlarged, self.zoomed = sample, False
        self._fit()
        self.view_changed.emit()

    def show_all(self) -> None:
        """Show every sample again."""
        self.enlarged, self.zoomed = -1, False
        self._fit()
        self.view_changed.emit()

    def _fit(self) -> None:
        if self.enlarged >= 0:
            r = self.cell_rect(self.enlarged)
            self.vb.setRange(rect=r.adjusted(-0.5, -0.5, 0.5, 0.5), padding=0)
        else:
            self.vb.setRange(xRange=(0, self.rgb.shape[1]), yRange=(0, self.rgb.shape[0]), padding=0.01)
        self.zoomed = False

    def _on_manual_range(self, *_: object) -> None:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        if x1 - x0 >= self.rgb.shape[1] and y1 - y0 >= self.rgb.shape[0]:
            self.show_all()  # zoomed out to (or past) the whole grid: fit it again
        else:
            self.zoomed = True
            self.view_changed.emit()

    def _on_transform(self, *_: object) -> None:
        px = self.vb.viewPixelSize()[0]
        pixel = 1.0 / px if px > 0 else 1.0
        for outline in (self.marks, self.cursor, self.hover):
            outline.set_pixel(pixel)

    def keyPressEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        """Esc shows every sample again."""
        if ev.key() == Qt.Key.Key_Escape and (self.enlarged >= 0 or self.zoomed):  # type: ignore[attr-defined]
            self.show_all()
            ev.accept()  # type: ignore[attr-defined]
            return
        super().keyPressEvent(ev)

    # ---- outlines ------------------------------------------------------------------------------
    def _centres(self, places: list[tuple[int, int, int]]) -> tuple[list[float], list[float]]:
        xs, ys = [], []
        for b, row, col in places:
            gr, gc = divmod(b, self.cols)
            xs.append(PAD + gc * (self.w + PAD) + col + 0.5)
            ys.append(PAD + gr * (self.h + PAD) + row + 0.5)
        return xs, ys

    def _place_outlines(self) -> None:
        c = self._cursor
        self.cursor.set_places(*self._centres([(b, *c) for b in range(self.n)] if c is not None else []))
        s = self._hover
        self.hover.set_places(*self._centres([s] if s[0] >= 0 else []))
        self.marks.set_places(*self._centres(self._marked))

    def set_cursor(self, place: tuple[int, int] | None) -> None:
        """Outline pixel (row, column) in every cell (None hides the outline)."""
        key = (place, self.n, self.h, self.w)
        if key == self._cursor_key:  # unchanged: no new scatter data (each costs the sampler GIL time)
            return
        self._cursor_key, self._cursor = key, place
        self.cursor.set_places(*self._centres([(b, *place) for b in range(self.n)] if place is not None else []))

    def set_hover(self, sample: int, row: int, col: int) -> None:
        """Outline one pixel of one cell (sample < 0 hides it)."""
        key = (max(sample, -1), row, col, self.n, self.h, self.w) if sample >= 0 else (-1,)
        if key == self._hover_key:
            return
        self._hover_key = key
        self._hover = (sample, row, col) if sample >= 0 else (-1, -1, -1)
        self.hover.set_places(*self._centres([self._hover] if sample >= 0 else []))

    def set_marks(self, places: list[tuple[int, int, int]]) -> None:
        """Ring these (sample, row, column) places in the forced-value colour."""
        places = [p for p in places if 0 <= p[0] < self.n]
        if places != self._marked:
            self._marked = places
            self.marks.set_places(*self._centres(places))

    def marked_places(self) -> list[tuple[int, int, int]]:
        """The places ringed as forced values."""
        return list(self._marked)

    # ---- the mouse -----------------------------------------------------------------------------
    def locate(self, x: float, y: float) -> tuple[int, int, int]:
        """(sample, row, column) at view coordinates (x, y), or (-1, -1, -1) off the images."""
        if self.n == 0 or x < PAD or y < PAD:
            return (-1, -1, -1)
        gc, c = divmod(int(math.floor(x - PAD)), self.w + PAD)
        gr, r = divmod(int(math.floor(y - PAD)), self.h + PAD)
        b = gr * self.cols + gc
        if c >= self.w or r >= self.h or gc >= self.cols or b >= self.n:
            return (-1, -1, -1)
        return (b, r, c)

    def _locate_scene(self, pos: QPointF) -> tuple[int, int, int]:
        if not self.vb.sceneBoundingRect().contains(pos):
            return (-1, -1, -1)
        p = self.vb.mapSceneToView(pos)
        return self.locate(p.x(), p.y())

    def _on_move(self, pos: QPointF) -> None:
        hit = self._locate_scene(pos)
        if hit != self._hovered:
            self._hovered = hit
            self.pixel_hovered.emit(*hit)

    def _on_click(self, ev: object) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        hit = self._locate_scene(ev.scenePos())  # type: ignore[attr-defined]
        if not ev.double():  # type: ignore[attr-defined]
            if hit[0] >= 0:
                self.pixel_clicked.emit(*hit)
        elif hit[0] < 0 or hit[0] == self.enlarged:
            self.show_all()
        else:
            self.enlarge(hit[0])

    def leaveEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        """Clear the hover when the mouse leaves the canvas."""
        if self._hovered[0] >= 0:
            self._hovered = (-1, -1, -1)
            self.pixel_hovered.emit(-1, -1, -1)
        super().leaveEvent(ev)
