"""A grid of small images drawn as one RGB ``ImageItem``, with the place being written outlined.

The canvas draws the pixels it is given and reports which (sample, row, column) the mouse is
over or clicked; it knows nothing of steps, models or runs.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal

from arstudio.qt.views import theme
from arstudio.qt.views.plotting import GraphicsLayoutWidget

PAD = 1  # pixels between cells


def cells_rgb(unit: np.ndarray) -> np.ndarray:
    """Brightness [N, C, H, W] in [0, 1] (C = 1 grey, or 3 RGB) as cells [N, H, W, 3] uint8; NaN (not sampled) slate."""
    x = np.asarray(unit, dtype=np.float64)
    rgb = (x[:, :3] if x.shape[1] >= 3 else np.repeat(x[:, :1], 3, axis=1)).transpose(0, 2, 3, 1)  # (N, H, W, 3)
    out = np.rint(np.clip(np.nan_to_num(rgb), 0.0, 1.0) * 255).astype(np.uint8)
    out[np.isnan(rgb).any(axis=-1)] = theme.UNFILLED
    return out


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of a near-square grid for n cells."""
    ncol = max(1, math.ceil(math.sqrt(n)))
    return max(1, math.ceil(n / ncol)), ncol


class ImageGridCanvas(GraphicsLayoutWidget):
    """N images of h x w pixels in a near-square grid; one cursor outline per cell, one hover outline."""

    pixel_hovered = Signal(int, int, int)  # sample, row, column; (-1, -1, -1) when off the images
    pixel_clicked = Signal(int, int, int)

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)
        self.setBackground(theme.BACKGROUND)
        self.vb = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.cursor = pg.ScatterPlotItem(pxMode=False, symbol="s", size=1.0, brush=None,
                                         pen=pg.mkPen(theme.CURSOR, width=2.5))
        self.hover = pg.ScatterPlotItem(pxMode=False, symbol="s", size=1.0, brush=None,
                                        pen=pg.mkPen(theme.HOVER, width=2))
        for item in (self.image, self.cursor, self.hover):
            self.vb.addItem(item)
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)
        self.n, self.h, self.w = 0, 0, 0
        self.rows, self.cols = 1, 1
        self._hovered = (-1, -1, -1)
        self._cursor_key: object = None  # what the cursor and hover outlines show now
        self._hover_key: object = None
        self.rgb = np.zeros((1, 1, 3), dtype=np.uint8)

    def set_grid(self, n: int, h: int, w: int) -> None:
        """Lay out n empty cells of h x w pixels."""
        self.n, self.h, self.w = n, h, w
        self.rows, self.cols = grid_shape(n)
        cells = np.empty((n, h, w, 3), dtype=np.uint8)
        cells[...] = theme.UNFILLED
        self.set_cells(cells)
        self.vb.setRange(xRange=(0, self.rgb.shape[1]), yRange=(0, self.rgb.shape[0]), padding=0.02)
        self._cursor_key = self._hover_key = None  # a new grid: draw both outlines afresh
        self.set_cursor(None)
        self.set_hover(-1, -1, -1)

    def set_cells(self, cells: np.ndarray) -> None:
        """Draw cells [N, h, w, 3] uint8 (N as given to ``set_grid``)."""
        n, h, w = self.n, self.h, self.w
        tiles = np.empty((self.rows * self.cols, h + PAD, w + PAD, 3), dtype=np.uint8)
        tiles[...] = theme.rgb(theme.BACKGROUND)
        tiles[:n, :h, :w] = cells
        big = tiles.reshape(self.rows, self.cols, h + PAD, w + PAD, 3).transpose(0, 2, 1, 3, 4)
        big = big.reshape(self.rows * (h + PAD), self.cols * (w + PAD), 3)
        self.rgb = np.pad(big, ((PAD, 0), (PAD, 0), (0, 0)), constant_values=0)
        self.rgb[:PAD, :] = theme.rgb(theme.BACKGROUND)
        self.rgb[:, :PAD] = theme.rgb(theme.BACKGROUND)
        self.image.setImage(self.rgb, autoLevels=False, levels=(0, 255))

    def _centres(self, row: int, col: int, samples: range | list[int]) -> tuple[list[float], list[float]]:
        xs, ys = [], []
        for b in samples:
            gr, gc = divmod(b, self.cols)
            xs.append(PAD + gc * (self.w + PAD) + col + 0.5)
            ys.append(PAD + gr * (self.h + PAD) + row + 0.5)
        return xs, ys

    def set_cursor(self, place: tuple[int, int] | None) -> None:
        """Outline pixel (row, column) in every cell (None hides the outline)."""
        key = (place, self.n, self.h, self.w)
        if key == self._cursor_key:  # unchanged: no new scatter data (each costs the sampler GIL time)
            return
        self._cursor_key = key
        if place is None:
            self.cursor.setData([], [])
            return
        xs, ys = self._centres(place[0], place[1], range(self.n))
        self.cursor.setData(xs, ys)

    def set_hover(self, sample: int, row: int, col: int) -> None:
        """Outline one pixel of one cell (sample < 0 hides it)."""
        key = (max(sample, -1), row, col, self.n, self.h, self.w) if sample >= 0 else (-1,)
        if key == self._hover_key:
            return
        self._hover_key = key
        if sample < 0:
            self.hover.setData([], [])
            return
        xs, ys = self._centres(row, col, [sample])
        self.hover.setData(xs, ys)

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
        hit = self._locate_scene(ev.scenePos())  # type: ignore[attr-defined]
        if hit[0] >= 0:
            self.pixel_clicked.emit(*hit)

    def leaveEvent(self, ev: object) -> None:  # noqa: N802 (Qt's name)
        """Clear the hover when the mouse leaves the canvas."""
        if self._hovered[0] >= 0:
            self._hovered = (-1, -1, -1)
            self.pixel_hovered.emit(-1, -1, -1)
        super().leaveEvent(ev)
