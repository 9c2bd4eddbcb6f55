"""The image panel: a grid of samples filling in pixel by pixel, in the model's sampling order.

Places not sampled yet are slate; the pixel being written is ringed in orange in every cell, the
pixel the distribution view shows in green. The grid takes the rows and columns that make the
samples largest; a double click enlarges one sample (again: all), the wheel zooms. Every run is a
branch in a history ("Back" and a list of runs): a forced value is ringed in red on its sample, the
values its run kept are tinted blue, with a legend. Exports the grid as a scaled-up PNG through the
one exporter (``arstudio.io.export.export_samples``), as ``arstudio sample`` and ``arstudio replay`` do.

The panel's tools (issue 3): a dependency overlay that shades the earlier pixels by how much they
influence the pixel the distribution view shows (``dependency_tool``), a label picker for
class-conditional models, and a Likelihood tab (``tools``) to draw or load an image, see its NLL
per pixel and its place among held-out images, and complete it from its top rows. Dependency
maps, scores and image files are computed or read in the panel's analysis thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QTabWidget, QToolButton, QVBoxLayout, QWidget

from arstudio.core.modality import plural
from arstudio.core.spec import ValueSpace
from arstudio.engine.messages import Condition, ModelInfo, RunPlan
from arstudio.engine.record import RunRecord
from arstudio.io.errors import ExportError
from arstudio.io.export import export_samples, to_unit
from arstudio.qt.modalities.image.analysis import DependencyResult, PixelAnalysis
from arstudio.qt.modalities.image.branch_bar import KEPT, KEPT_TINT, BranchBar, legend_html, legend_label, legend_tip
from arstudio.modalities.image.branches import Branch, BranchHistory
from arstudio.qt.modalities.image.dependency_tool import DependencyTool
from arstudio.qt.modalities.image.grid import ImageGridCanvas, cells_rgb
from arstudio.qt.modalities.image.likelihood_view import LikelihoodView
from arstudio.modalities.image.places import channel_name, order_name, place_of, run_label, value_text
from arstudio.qt.modalities.image.tools import LikelihoodTool
from arstudio.qt.panel import ModalityPanel
from arstudio.qt.views import theme
from arstudio.train.scoring import class_names


class PixelPanel(ModalityPanel):
    """N samples of a (C, H, W) image model in a grid; C is 1 (grey) or 3 (RGB)."""

    modality = "image"
    title = "Samples"
    export_label = "Export PNG…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = ImageGridCanvas()
        self.canvas.setToolTip("Hover a pixel to see the distribution it was drawn from; click to keep it shown. "
                               "Double-click a sample to enlarge it (again, or Esc, for all); the wheel zooms.")
        self.hint = QLabel("")
        self.hint.setFixedHeight(self.hint.fontMetrics().lineSpacing() + 4)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.analysis = PixelAnalysis(self)
        self.dep = DependencyTool(self.canvas, self.analysis, self)
        self.dependency_box, self.dependency_note, self.overlay = self.dep.box, self.dep.note, self.dep.overlay
        self.branch_bar = BranchBar()
        self.back_button, self.branch_combo = self.branch_bar.back_button, self.branch_bar.combo
        self.all_button = QToolButton(text="Show all")
        self.all_button.setToolTip("Show every sample again (or double-click the enlarged one, or press Esc)")
        self.all_button.hide()
        self.legend = legend_label()
        self.label_combo = QComboBox()
        self.label_combo.setToolTip("The class the samples are conditioned on (a conditional model's p(x | c))")
        self.label_title = QLabel("Label")
        bar = QHBoxLayout()
        bar.addWidget(self.dependency_box)
        bar.addWidget(self.branch_bar, 1)
        bar.addWidget(self.all_button)
        bar.addWidget(self.label_title)
        bar.addWidget(self.label_combo)
        bottom = QHBoxLayout()
        bottom.addWidget(self.hint, 1)
        bottom.addWidget(self.legend, 0)
        samples = QWidget()
        sl = QVBoxLayout(samples)
        sl.setContentsMargins(0, 4, 0, 0)
        sl.addLayout(bar)
        sl.addWidget(self.dependency_note)
        sl.addWidget(self.canvas, 1)
        sl.addLayout(bottom)
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
        self.record: RunRecord | None = None  # the current run (the session's)
        self.info: ModelInfo | None = None
        self.history = BranchHistory()
        self.follow_sample = 0  # the sample the distribution view follows when nothing is hovered or pinned
        self.focus: tuple[int, int] | None = None  # (step, sample) the distribution view shows, hovered or pinned
        self._pending: tuple[str, object] | None = None  # what the next run is: ("resume", id) or ("given", text)
        self.canvas.pixel_hovered.connect(self._on_hovered)
        self.canvas.pixel_clicked.connect(self._on_clicked)
        self.canvas.view_changed.connect(lambda: self.all_button.setVisible(self.canvas.enlarged >= 0
                                                                            or self.canvas.zoomed))
        self.all_button.clicked.connect(self.canvas.show_all)
        self.branch_bar.back_clicked.connect(self.go_back)
        self.branch_bar.branch_chosen.connect(self.show_branch)
        self.dependency_box.toggled.connect(lambda _on: self.update_dependency(force=True))
        self.label_combo.currentIndexChanged.connect(self._on_label)
        self.likelihood.completion_requested.connect(self._on_complete)
        self.likelihood.problem_found.connect(self.problem_found)
        self.likelihood_view.sample_button.clicked.connect(self.use_sample)
        self.label_title.hide()
        self.label_combo.hide()

    @property
    def dependency(self) -> DependencyResult | None:
        """The dependency map drawn now (None when none)."""
        return self.dep.result

    # ---- the model ---------------------------------------------------------------------------
    def set_model(self, info: ModelInfo, batch: int) -> None:
        """A model was loaded (a new ``info``: everything of the previous one goes), or the canvas is reset."""
        shape = tuple(info.spec.layout.shape)
        if len(shape) != 3:
            raise ValueError(f"the image panel draws (C, H, W) layouts, got {list(shape)}")
        self.shape = shape  # type: ignore[assignment]
        self.space = info.spec.values
        self.record, self.focus = None, None
        self.canvas.set_grid(batch, shape[1], shape[2])
        self.hint.setText(f"{plural(batch, 'sample')} of {shape[1]}×{shape[2]} · press Play")
        self.dep.reset()
        self.history.shown = None
        if info is not self.info:  # loaded (again): no state of the previous model survives
            self.info, self.follow_sample, self._pending = info, 0, None
            self.history.clear()
            self.canvas.show_all()
            self.analysis.load(info.path)
            self.likelihood.set_model(info)
            self._set_labels(info)
        self.branch_bar.show_history(self.history)
        self._show_legend(None)

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

    # ---- the run and its branch -------------------------------------------------------------
    def begin_run(self, record: RunRecord) -> None:
        pending, self._pending = self._pending, None
        previous, self.record = self.record, record
        c, h, w = record.info.shape
        self.shape = (c, h, w)
        if (self.canvas.n, self.canvas.h, self.canvas.w) != (record.batch, h, w):
            self.canvas.set_grid(record.batch, h, w)
        hint_sample = self.focus[1] if self.focus is not None else self.follow_sample
        self.focus, self.follow_sample = None, min(self.follow_sample, record.batch - 1)
        self.history.file_run(record, previous, pending, hint_sample, run_label)
        self.branch_bar.show_history(self.history)
        self._show_legend(self.history.current())
        if record.filled == 0:  # otherwise show_steps draws it next (drawing twice a frame costs sampling time)
            self._redraw()
        self.canvas.set_cursor(None)
        self.canvas.set_hover(-1, -1, -1)
        order = order_name(record.order, self.shape, record.info.request.ordering)
        self.hint.setText(f"{plural(record.batch, 'sample')} · {record.length} steps in {order}")
        self.dep.reset()
        self.update_dependency()

    def _show_legend(self, branch: Branch | None) -> None:
        rec = branch.shown_record() if branch is not None else None
        text = legend_html(branch, lambda t, b: value_text(rec, t, b)) if rec is not None else ""
        self.legend.setText(text)
        self.legend.setToolTip(legend_tip(branch))
        self.legend.setVisible(bool(text))

    def go_back(self) -> None:
        """Show the branch the shown one came from (or the one before it), live again."""
        target = self.history.back_target()
        if target is not None:
            self.show_branch(target)

    def show_branch(self, bid: int) -> None:
        """Show branch ``bid`` at once, and run it again with every value it has kept, so it is live.

        The run that takes it up keeps every sampled value exactly (unfinished, it samples on from
        there): the distribution view, the strip and forcing then work on it as on any run.
        """
        b = self.history.branches.get(bid)
        if b is None or (b.record is self.record and self.history.shown == bid):
            return
        self.history.shown = bid
        self.branch_bar.show_history(self.history)
        self._show_legend(b)
        self.canvas.set_cursor(None)
        self._redraw()
        self.dep.reset()
        if b.record is self.record:  # the current run itself
            return
        data = b.shown_record().data()
        kept = ~np.isnan(data).any(axis=0)
        if kept.any():
            self._pending = ("resume", bid)
            self.run_planned.emit(RunPlan(batch=data.shape[0]), False)  # the branch's number of samples, this once
            self.completion_requested.emit(np.nan_to_num(data), kept)
            self.run_planned.emit(RunPlan(), False)

    def show_steps(self, record: RunRecord) -> None:
        self.record = record
        if not self._live():
            return  # an earlier branch is shown until the run that takes it up begins
        self._redraw()
        if record.filled > 0:
            self.canvas.set_cursor(self._place(int(record.order[record.last_step])))
        self.update_dependency()

    def _live(self) -> bool:
        """True when the samples shown are the current run's (not an earlier branch waiting to be taken up)."""
        b = self.history.current()
        return self.record is not None and (b is None or b.record is self.record)

    def show_focus(self, step: int, sample: int) -> None:
        rec = self.record
        if step < 0 or sample < 0 or rec is None or step >= rec.length or not self._live():
            self.focus = None
            self.canvas.set_hover(-1, -1, -1)
        else:
            self.focus = (step, sample)
            self.canvas.set_hover(sample, *self._place(int(rec.order[step])))
        self.update_dependency()

    def describe_step(self, record: RunRecord, step: int) -> str:
        index = int(record.order[step])
        r, c = self._place(index)
        ch = channel_name(self.shape, index)
        return f"step {step} · pixel (row {r}, col {c}{', ' + ch if ch else ''})"

    def _place(self, index: int) -> tuple[int, int]:
        return place_of(self.shape, index)

    def cells(self, record: RunRecord) -> np.ndarray:
        """The samples as brightness [N, C, H, W] in [0, 1], NaN where nothing is sampled yet."""
        return to_unit(self.space, record.data()).reshape(record.batch, *self.shape)

    def _redraw(self) -> None:
        b = self.history.current()
        rec = b.shown_record() if b is not None else self.record
        if rec is None:
            return
        out = cells_rgb(self.cells(rec))  # (N, H, W, 3)
        marks: list[tuple[int, int, int]] = []
        if b is not None and b.marked():
            n = rec.filled
            steps, samples = np.nonzero(b.kept[:n])
            if len(steps):
                rows, cols = self._places(rec.order[steps])
                tint = np.asarray(theme.rgb(KEPT), dtype=np.float64)
                out[samples, rows, cols] = np.rint((1 - KEPT_TINT) * out[samples, rows, cols] + KEPT_TINT * tint)
            marks = [(s, *self._place(int(rec.order[t]))) for t, s in b.forced_places() if t < n]
        self.canvas.set_cells(out)
        self.canvas.set_marks(marks)

    def _places(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, h, w = self.shape
        rc = index % (h * w)
        return rc // w, rc % w

    # ---- gestures ----------------------------------------------------------------------------
    def _step_at(self, sample: int, row: int, col: int) -> int | None:
        if self.record is None or sample < 0 or not self._live():
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
            self.follow_sample = sample  # as the distribution view: a pick focuses its sample
            self.step_picked.emit(step, sample)

    # ---- dependency overlay ------------------------------------------------------------------
    def dependency_target(self) -> tuple[int, int] | None:
        """(sample, flat index) the overlay shows: the place the distribution view shows, else the newest step."""
        rec = self.record
        if rec is None or not self._live():
            return None
        if self.focus is not None and self.focus[0] < rec.filled and self.focus[1] < rec.batch:
            step, sample = self.focus
            return sample, int(rec.order[step])
        if rec.filled == 0:
            return None
        return min(self.follow_sample, rec.batch - 1), int(rec.order[rec.last_step])

    def update_dependency(self, force: bool = False) -> None:
        """Ask for the map the overlay should show now (once per pixel and run)."""
        self.dep.update(self.record, self.dependency_target(), force)

    # ---- likelihood tab ----------------------------------------------------------------------
    def use_sample(self) -> None:
        """Copy the enlarged (else the followed) sample of the shown run (unsampled places as 0) to the likelihood tab."""
        b = self.history.current()
        rec = b.shown_record() if b is not None else self.record
        if rec is None or rec.filled == 0:
            self.problem_found.emit("No sample yet", "Press Play first: there is no sample to copy.")
            return
        sample = self.canvas.enlarged if 0 <= self.canvas.enlarged < rec.batch else min(self.follow_sample,
                                                                                          rec.batch - 1)
        self.likelihood.set_values(np.nan_to_num(rec.data()[sample]),
                                   f"sample {sample + 1} of {rec.batch} · seed {rec.info.request.seed}")

    def _on_complete(self, given: np.ndarray, mask: np.ndarray) -> None:
        self.tabs.setCurrentIndex(0)
        self._pending = ("given", f"completion of {self.likelihood.source} · {int(mask.sum())} places given")
        self.completion_requested.emit(given, mask)

    def shutdown(self) -> None:
        """Stop the analysis thread."""
        self.analysis.shutdown()

    # ---- export ------------------------------------------------------------------------------
    def exported_record(self, record: RunRecord) -> RunRecord:
        b = self.history.current()
        return b.shown_record() if b is not None else record

    def export(self, path: Path, record: RunRecord, text: dict[str, str]) -> Path:
        """The run's samples as one PNG grid (places not sampled yet black), the replay recipe (``text``) in it."""
        if self.info is None:
            raise ExportError("no model is loaded")
        return export_samples(path, self.info.spec, record.data(), text)
