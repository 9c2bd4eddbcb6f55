"""The image panel: a grid of samples filling in pixel by pixel, in the model's sampling order.

Places not sampled yet are slate; the pixel being written is outlined in orange in every cell;
the pixel under the mouse is outlined in green and the distribution it was drawn from is shown.
Forced pixels are tinted red. Exports the grid as a scaled-up PNG through the one exporter
(``arstudio.io.export.export_samples``), as ``arstudio sample`` and ``arstudio replay`` do.

The panel's tools (issue 3): a dependency overlay that shades the earlier pixels by how much they
influence the outlined pixel (its blind spot striped), a label picker for class-conditional
models, and a Likelihood tab (``arstudio.qt.modalities.image.tools``) to draw or load an image, see its NLL
per pixel and its place among held-out images, and complete it from its top rows. Dependency
maps, scores and image files are computed or read in the panel's analysis thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QTabWidget, QVBoxLayout, QWidget

from arstudio.core.spec import ValueSpace
from arstudio.engine.messages import Condition, ModelInfo
from arstudio.io.errors import ExportError
from arstudio.io.export import export_samples, to_unit
from arstudio.qt.panel import ModalityPanel
from arstudio.qt.modalities.image.analysis import DependencyResult, PixelAnalysis
from arstudio.qt.modalities.image.tools import LikelihoodTool
from arstudio.engine.record import RunRecord
from arstudio.qt.views import theme
from arstudio.qt.modalities.image.dependency_overlay import DependencyOverlay
from arstudio.qt.modalities.image.grid import ImageGridCanvas, cells_rgb
from arstudio.qt.modalities.image.likelihood_view import LikelihoodView
from arstudio.train.scoring import class_names

def blind_spot(seen: np.ndarray, unseen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split unseen earlier pixels [h, w] into a blind spot (inside the box the seen ones span) and the rest."""
    if not seen.any():
        return np.zeros_like(unseen), unseen
    rows, cols = np.nonzero(seen)
    box = np.zeros_like(seen)
    box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
    return unseen & box, unseen & ~box


class PixelPanel(ModalityPanel):
    """N samples of a (C, H, W) image model in a grid; C is 1 (grey) or 3 (RGB)."""

    modality = "image"
    title = "Samples"
    export_label = "Export PNG…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = ImageGridCanvas()
        self.canvas.setToolTip("Hover a pixel to see the distribution it was drawn from; click to keep it shown.")
        self.hint = QLabel("")
        self.hint.setFixedHeight(self.hint.fontMetrics().lineSpacing() + 4)
        self.overlay = DependencyOverlay(self.canvas)
        self.dependency_box = QCheckBox("Dependency overlay")
        self.dependency_box.setToolTip("Shade the earlier pixels by how much they influence the outlined pixel "
                                       "(|gradient of its log p|); striped: earlier pixels it cannot see at all. "
                                       "Click a pixel to pick it; click it again to follow sampling.")
        self.dependency_note = QLabel("")
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("The class the samples are conditioned on (a conditional model's p(x | c))")
        self.label_title = QLabel("Label")
        self.dependency_note.setTextFormat(Qt.TextFormat.RichText)
        self.dependency_note.setWordWrap(True)
        self.dependency_note.setFixedHeight(2 * self.dependency_note.fontMetrics().lineSpacing() + 4)
        self.dependency_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # never widens
        bar = QHBoxLayout()
        bar.addWidget(self.dependency_box)
        bar.addStretch(1)
        bar.addWidget(self.label_title)
        bar.addWidget(self.label_combo)
        samples = QWidget()
        sl = QVBoxLayout(samples)
        sl.setContentsMargins(0, 4, 0, 0)
        sl.addLayout(bar)
        sl.addWidget(self.dependency_note)
        sl.addWidget(self.canvas, 1)
        sl.addWidget(self.hint)
        self.analysis = PixelAnalysis(self)
        self.likelihood_view = LikelihoodView()
        self.likelihood = LikelihoodTool(self.likelihood_view, self.analysis, self)
        self.tabs = QTabWidget()
        self.tabs.addTab(samples, "Samples")
        self.tabs.addTab(self.likelihood_view, "Likelihood")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tabs, 1)
        self.shape: tuple[int, int, int] = (1, 1, 1)
        self.space = ValueSpace("binary")
        self.record: RunRecord | None = None
        self.info: ModelInfo | None = None
        self.picked: tuple[int, int, int] | None = None  # (sample, row, col) the overlay is pinned to
        self.focus_sample = 0
        self._dep_key: tuple[int, ...] | None = None
        self.dependency: DependencyResult | None = None
        self.canvas.pixel_hovered.connect(self._on_hovered)
        self.canvas.pixel_clicked.connect(self._on_clicked)
        self.dependency_box.toggled.connect(lambda _on: self.update_dependency(force=True))
        self.label_combo.currentIndexChanged.connect(self._on_label)
        self.analysis.dependency_computed.connect(self._on_dependency)
        self.likelihood.completion_requested.connect(self._on_complete)
        self.likelihood.problem_found.connect(self.problem_found)
        self.likelihood_view.sample_button.clicked.connect(self.use_sample)
        self.label_title.hide()
        self.label_combo.hide()

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
        self.overlay.clear()
        self.dependency, self._dep_key = None, None
        if self.info is None or self.info.path != info.path:
            self.info, self.picked = info, None
            self.analysis.load(info.path)
            self.likelihood.set_model(info)
            self._set_labels(info)

    def _set_labels(self, info: ModelInfo) -> None:
        k = int(info.spec.cond.get("classes", 0) or 0)
        self.label_combo.blockSignals(True)
        self.label_combo.clear()
        if k:
            self.label_combo.addItem("each in turn", -1)
            for i, name in enumerate(class_names(info.meta, k)):
                self.label_combo.addItem(name, i)
        self.label_combo.blockSignals(False)
        self.label_combo.setVisible(bool(k))
        self.label_title.setVisible(bool(k))
        self._on_label()

    def _on_label(self, *_: object) -> None:
        label = self.label_combo.currentData() if self.label_combo.count() else None
        self.likelihood.label = label
        k = self.label_combo.count() - 1  # the classes, after "each in turn"
        if label is None or k < 1:
            self.condition_chosen.emit(None)
        else:  # one class for every sample, or each class in turn
            self.condition_chosen.emit(Condition(np.arange(k) if label < 0 else np.array([min(int(label), k - 1)])))

    def pick_label(self, label: int) -> None:
        """Choose class ``label`` (-1: each in turn) as the user would in the picker."""
        i = self.label_combo.findData(label)
        if i < 0:
            raise ValueError(f"this model has no label {label}")
        self.label_combo.setCurrentIndex(i)

    def begin_run(self, record: RunRecord) -> None:
        self.record = record
        c, h, w = record.info.shape
        self.shape = (c, h, w)
        if (self.canvas.n, self.canvas.h, self.canvas.w) != (record.batch, h, w):
            self.canvas.set_grid(record.batch, h, w)
        if record.filled == 0:  # otherwise show_steps draws it next (drawing twice a frame costs sampling time)
            self._redraw(record)
        self.canvas.set_cursor(None)
        self.canvas.set_hover(-1, -1, -1)
        order = "raster order" if record.info.request.ordering == 0 and np.array_equal(
            record.order, np.arange(record.length)) else f"ordering {record.info.request.ordering}"
        self.hint.setText(f"{record.batch} samples · {record.length} steps in {order}")
        self.overlay.clear()
        self._dep_key = None
        self.update_dependency()

    def show_steps(self, record: RunRecord) -> None:
        self.record = record
        self._redraw(record)
        if record.filled > 0:
            self.canvas.set_cursor(self._place(int(record.order[record.last_step])))
        self.update_dependency()

    def show_focus(self, step: int, sample: int) -> None:
        if step < 0 or sample < 0 or self.record is None or step >= self.record.length:
            self.canvas.set_hover(-1, -1, -1)
            return
        r, c = self._place(int(self.record.order[step]))
        self.canvas.set_hover(sample, r, c)
        if sample != self.focus_sample:
            self.focus_sample = sample
            self.update_dependency()

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
        return to_unit(self.space, record.data()).reshape(record.batch, *self.shape)

    def _redraw(self, record: RunRecord) -> None:
        out = cells_rgb(self.cells(record))  # (N, H, W, 3)
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
        if self.dependency_box.isChecked():
            self.picked = None if self.picked == (sample, row, col) else (sample, row, col)
            self.update_dependency()
        if step is not None:
            self.step_picked.emit(step, sample)

    # ---- dependency overlay ------------------------------------------------------------------
    def dependency_target(self) -> tuple[int, int] | None:
        """(sample, flat index) the overlay shows: the picked pixel, else the one just sampled."""
        rec = self.record
        if rec is None or rec.filled == 0 and self.picked is None:
            return None
        if self.picked is not None and self.picked[0] >= rec.batch:
            self.picked = None
        if self.picked is not None:
            sample, row, col = self.picked
            return sample, row * self.shape[2] + col
        return min(self.focus_sample, rec.batch - 1), int(rec.order[rec.last_step])

    def update_dependency(self, force: bool = False) -> None:
        """Ask the analysis thread for the map the overlay should show now (once per pixel and run)."""
        if not self.dependency_box.isChecked():
            if self.overlay.shown or self.dependency_note.text():
                self.overlay.clear()
                self.dependency_note.setText("")
            self._dep_key = None
            return
        target, rec = self.dependency_target(), self.record
        if target is None or rec is None:
            self.dependency_note.setText("press Play, or click a pixel")
            return
        sample, index = target
        key = (rec.run_id, sample, index)
        if key == self._dep_key and not force:
            return
        self._dep_key = key
        cond = rec.info.request.cond
        label = int(cond[sample]) if cond is not None else None
        self.analysis.request_dependency(sample, index, rec.data()[sample], label, rec.info.request.ordering)

    def _on_dependency(self, result: DependencyResult) -> None:
        if not self.dependency_box.isChecked():
            return
        if result.error is not None:
            self.overlay.clear()
            self.dependency_note.setText(f"no map: {result.error}")
            return
        self.dependency = result
        c, h, w = self.shape
        influence = result.influence.reshape(c, h, w).max(0)
        earlier = result.earlier.reshape(c, h, w).any(0)
        unseen = earlier & result.blind.reshape(c, h, w).all(0, where=result.earlier.reshape(c, h, w))
        spot, far = blind_spot(earlier & ~unseen, unseen)
        r, col = self._place(result.index)
        self.overlay.show_map(result.sample, influence, earlier, spot, (r, col), unreached=far)
        n_spot, n_seen = int(spot.sum()), int((earlier & ~unseen).sum())
        text = (f"<b style='color:{theme.BLIND}'>{n_spot} in its blind spot</b>" if n_spot else "no blind spot")
        beyond = f" · {int(far.sum())} beyond its field" if far.any() else ""
        self.dependency_note.setText(f"<span style='color:{theme.INFLUENCE}'>■</span> ({r}, {col}), sample "
                                     f"{result.sample}: {n_seen} earlier pixels reach it · {text}{beyond}")

    # ---- likelihood tab ----------------------------------------------------------------------
    def use_sample(self) -> None:
        """Copy the focused sample of the current run (unsampled places as 0) into the likelihood tab."""
        rec = self.record
        if rec is None or rec.filled == 0:
            self.problem_found.emit("No sample yet", "Press Play first: there is no sample to copy.")
            return
        sample = min(self.focus_sample, rec.batch - 1)
        self.likelihood.set_values(np.nan_to_num(rec.data()[sample]), f"sample {sample} of run {rec.run_id}")

    def _on_complete(self, given: np.ndarray, mask: np.ndarray) -> None:
        self.tabs.setCurrentIndex(0)
        self.completion_requested.emit(given, mask)

    def shutdown(self) -> None:
        """Stop the analysis thread."""
        self.analysis.shutdown()

    # ---- export ------------------------------------------------------------------------------
    def export(self, path: Path, record: RunRecord, text: dict[str, str]) -> Path:
        """The run's samples as one PNG grid (places not sampled yet black), the replay recipe (``text``) in it."""
        if self.info is None:
            raise ExportError("no model is loaded")
        return export_samples(path, self.info.spec, record.data(), text)



