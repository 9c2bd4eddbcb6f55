"""The dependency overlay: one cell of an ``ImageGridCanvas`` shaded by how much each pixel influences one pixel.

Earlier pixels are tinted by their influence (more opaque = more influence); earlier pixels with
no influence at all are striped, boldly inside the box that the pixels it sees span (a blind
spot), faintly outside it (beyond the receptive field); later pixels are veiled; the pixel
itself is ringed. The overlay is drawn at ``SUB`` x ``SUB`` screen pixels per image pixel so that stripes
and rings are crisp. It draws what it is given; the panel decides which pixel and sample.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from arstudio.qt.views import theme
from arstudio.qt.modalities.image.grid import ImageGridCanvas

SUB = 8  # overlay pixels per image pixel
VEIL = (20, 22, 28, 150)  # later pixels: not part of the condition


def overlay_rgba(influence: np.ndarray, earlier: np.ndarray, blind: np.ndarray, target: tuple[int, int],
                 sub: int = SUB, unreached: np.ndarray | None = None) -> np.ndarray:
    """The overlay of one cell as uint8 RGBA [h * sub, w * sub, 4] from maps [h, w].

    ``blind`` pixels (a blind spot) get bold stripes; ``unreached`` ones (beyond the receptive
    field) faint grey stripes.
    """
    h, w = influence.shape
    m = np.where(earlier, np.nan_to_num(np.asarray(influence, dtype=np.float64)), 0.0)
    top = float(m.max()) if m.size else 0.0
    strength = np.sqrt(m / top) if top > 0 else np.zeros_like(m)
    cell = np.zeros((h, w, 4), dtype=np.float64)
    cell[~earlier] = VEIL
    seen = earlier & ~blind
    cell[seen, :3] = theme.rgb(theme.INFLUENCE)
    cell[seen, 3] = 30 + 200 * strength[seen]
    big = cell.repeat(sub, axis=0).repeat(sub, axis=1)
    ii, jj = np.mgrid[0:h * sub, 0:w * sub]
    stripe = ((ii + jj) // max(sub // 4, 1)) % 2 == 0
    blind_big = blind.repeat(sub, axis=0).repeat(sub, axis=1)
    big[blind_big, :3] = theme.rgb(theme.BLIND)
    big[blind_big, 3] = np.where(stripe[blind_big], 235, 70)
    if unreached is not None:
        far = (unreached & ~blind).repeat(sub, axis=0).repeat(sub, axis=1)
        big[far] = VEIL
        big[far & stripe] = (*theme.rgb(theme.FOREGROUND), 60)
    r, c = target
    if 0 <= r < h and 0 <= c < w:
        ring = np.zeros((sub, sub), dtype=bool)
        k = max(sub // 6, 1)
        ring[:k, :], ring[-k:, :], ring[:, :k], ring[:, -k:] = True, True, True, True
        block = big[r * sub:(r + 1) * sub, c * sub:(c + 1) * sub]
        block[ring] = (*theme.rgb(theme.CURSOR), 255)
        block[~ring] = (0, 0, 0, 0)
    return np.rint(big).astype(np.uint8)


class DependencyOverlay:
    """An RGBA image laid over one cell of a canvas; hidden until ``show_map`` is called."""

    def __init__(self, canvas: ImageGridCanvas) -> None:
        self.canvas = canvas
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setZValue(5)
        canvas.vb.addItem(self.item)
        self.item.hide()
        self.sample = -1
        self.rgba: np.ndarray | None = None
        canvas.layout_changed.connect(self._place)

    def show_map(self, sample: int, influence: np.ndarray, earlier: np.ndarray, blind: np.ndarray,
                 target: tuple[int, int], unreached: np.ndarray | None = None) -> None:
        """Shade cell ``sample`` by ``influence`` [h, w]; ``earlier``, ``blind``, ``unreached`` are bool [h, w]."""
        c = self.canvas
        if not 0 <= sample < c.n or influence.shape != (c.h, c.w):
            self.clear()
            return
        self.rgba = overlay_rgba(influence, earlier, blind, target, unreached=unreached)
        self.item.setImage(self.rgba, autoLevels=False, levels=(0, 255))
        self.sample = sample
        self._place()
        self.item.show()

    def _place(self) -> None:
        """Lay the overlay over its cell (again after the canvas moved its cells)."""
        if self.sample < 0:
            return
        if self.sample >= self.canvas.n:
            self.clear()
            return
        self.item.setRect(self.canvas.cell_rect(self.sample))

    def clear(self) -> None:
        """Hide the overlay."""
        self.item.hide()
        self.sample = -1
        self.rgba = None

    @property
    def shown(self) -> bool:
        """True while a map is drawn."""
        return self.item.isVisible()
