"""The image panel: a grid of samples filling in pixel by pixel, in the model's sampling order.

Places not sampled yet are slate; the pixel being written is outlined in orange in every cell;
the pixel under the mouse is outlined in green and the distribution it was drawn from is shown.
Forced pixels are tinted red. Exports the grid as a scaled-up PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from arstudio.core.spec import ValueSpace
from arstudio.qt.messages import ModelInfo
from arstudio.qt.panel import ModalityPanel
from arstudio.qt.record import RunRecord
from arstudio.qt.views import theme
from arstudio.qt.views.image_grid import ImageGridCanvas

EXPORT_SCALE = 8


def to_unit(values: np.ndarray, space: ValueSpace) -> np.ndarray:
    """Map values to brightness in [0, 1] (NaN stays NaN): v / (n-1) for discrete, (v-low)/(high-low) else."""
    if space.discrete:
        return values / max(space.n - 1, 1)
    return np.clip((values - space.low) / max(space.high - space.low, 1e-12), 0.0, 1.0)


class PixelPanel(ModalityPanel):
    """N samples of a (C, H, W) image model in a grid; C is 1 (grey) or 3 (RGB)."""

    modality = "image"
    title = "Samples"
    export_label = "Export PNG…"
    export_filter = "PNG image (*.png)"
    export_suffix = ".png"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = ImageGridCanvas()
        self.canvas.setToolTip("Hover a pixel to see the distribution it was drawn from; click to keep it shown.")
        self.hint = QLabel("")
        self.hint.setFixedHeight(self.hint.fontMetrics().lineSpacing() + 4)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.hint)
        self.shape: tuple[int, int, int] = (1, 1, 1)
        self.space = ValueSpace("binary")
        self.record: RunRecord | None = None
        self.canvas.pixel_hovered.connect(self._on_hovered)
        self.canvas.pixel_clicked.connect(self._on_clicked)

    # ---- the run ---------------------------------------------------------------------------
    def set_model(self, info: ModelInfo, batch: int) -> None:
        shape = tuple(info.spec.layout.shape)
        if len(shape) != 3:
            raise ValueError(f"the image panel draws (C, H, W) layouts, got {list(shape)}")
        self.shape = shape  # type: ignore[assignment]
        self.space = info.spec.values
        self.record = None
        self.canvas.set_grid(batch, shape[1], shape[2])
        self.hint.setText(f"{batch} samples of {shape[1]}×{shape[2]} · press Play")

    def begin_run(self, record: RunRecord) -> None:
        self.record = record
        c, h, w = record.info.shape
        self.shape = (c, h, w)
        if (self.canvas.n, self.canvas.h, self.canvas.w) != (record.batch, h, w):
            self.canvas.set_grid(record.batch, h, w)
        self._redraw(record)
        self.canvas.set_cursor(None)
        self.canvas.set_hover(-1, -1, -1)
        order = "raster order" if record.info.request.ordering == 0 and np.array_equal(
            record.order, np.arange(record.length)) else f"ordering {record.info.request.ordering}"
        self.hint.setText(f"{record.batch} samples · {record.length} steps in {order}")

    def show_steps(self, record: RunRecord) -> None:
        self.record = record
        self._redraw(record)
        if record.filled > 0:
            self.canvas.set_cursor(self._place(int(record.order[record.last_step])))

    def show_focus(self, step: int, sample: int) -> None:
        if step < 0 or sample < 0 or self.record is None or step >= self.record.length:
            self.canvas.set_hover(-1, -1, -1)
            return
        r, c = self._place(int(self.record.order[step]))
        self.canvas.set_hover(sample, r, c)

    def describe_step(self, record: RunRecord, step: int) -> str:
        index = int(record.order[step])
        r, c = self._place(index)
        ch = f"channel {index // (self.shape[1] * self.shape[2])}, " if self.shape[0] > 1 else ""
        return f"step {step} · pixel ({ch}row {r}, col {c})"

    def _place(self, index: int) -> tuple[int, int]:
        _, h, w = self.shape
        rc = index % (h * w)
        return rc // w, rc % w

    def cells(self, record: RunRecord) -> np.ndarray:
        """The samples as brightness [N, C, H, W] in [0, 1], NaN where nothing is sampled yet."""
        return to_unit(record.data(), self.space).reshape(record.batch, *self.shape)

    def _redraw(self, record: RunRecord) -> None:
        x = self.cells(record)  # (N, C, H, W)
        rgb = x[:, :3].transpose(0, 2, 3, 1) if x.shape[1] >= 3 else np.repeat(x[:, :1], 3, axis=1).transpose(0, 2, 3, 1)
        unfilled = np.isnan(rgb).any(axis=-1)  # (N, H, W)
        out = np.rint(np.nan_to_num(rgb) * 255).astype(np.uint8)
        out[unfilled] = theme.UNFILLED
        if record.forced.any():
            idx = record.order[: record.filled][record.forced[: record.filled]]
            rows, cols = (idx % (self.shape[1] * self.shape[2])) // self.shape[2], idx % self.shape[2]
            tint = np.asarray(theme.rgb(theme.FORCED), dtype=np.float64)
            sel = out[:, rows, cols].astype(np.float64)
            out[:, rows, cols] = np.rint(0.55 * sel + 0.45 * tint).astype(np.uint8)
        self.canvas.set_cells(out)

    # ---- gestures ----------------------------------------------------------------------------
    def _step_at(self, sample: int, row: int, col: int) -> int | None:
        if self.record is None or sample < 0:
            return None
        _, h, w = self.shape
        steps = [self.record.step_at(ch * h * w + row * w + col) for ch in range(self.shape[0])]
        steps = [s for s in steps if s is not None]
        return max(steps) if steps else None

    def _on_hovered(self, sample: int, row: int, col: int) -> None:
        step = self._step_at(sample, row, col)
        if step is None:
            self.step_hovered.emit(-1, -1)
        else:
            self.step_hovered.emit(step, sample)

    def _on_clicked(self, sample: int, row: int, col: int) -> None:
        step = self._step_at(sample, row, col)
        if step is not None:
            self.step_picked.emit(step, sample)

    # ---- export ------------------------------------------------------------------------------
    def export(self, path: Path, record: RunRecord, text: dict[str, str]) -> Path:
        from arstudio.io import png

        x = np.nan_to_num(self.cells(record), nan=0.0)
        if x.shape[1] not in (1, 3):
            x = x[:, :1]
        return png.write_png(path, png.image_grid(x, scale=EXPORT_SCALE), text=text)


PANEL = PixelPanel
