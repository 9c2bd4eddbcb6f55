"""The compare window: two checkpoints of the same modality side by side (see ``arstudio.qt.checkpoints.compare``).

It decides what to run and feeds the views: two sample grids, the per-step divergence plot, the
teacher-forcing heatmap and the metrics table. The work runs in ``CompareWorker``'s thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QThread, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QLabel, QPushButton,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from arstudio.core import catalog
from arstudio.core.checkpoint import read_meta
from arstudio.core.policy import SamplingPolicy
from arstudio.core.registry import get as get_kind
from arstudio.qt.checkpoints.compare import (CompareBatch, CompareRequest, CompareStarted, CompareWorker, Disagreement,
                                 check_comparable, image_input)
from arstudio.qt.views import theme
from arstudio.qt.checkpoints.compare_plots import DisagreementHeatmap, StepDivergencePlot
from arstudio.qt.modalities.image.grid import ImageGridCanvas


def brightness(values: np.ndarray, started: CompareStarted) -> np.ndarray:
    """Values to [0, 1] (NaN stays NaN)."""
    if started.levels:
        return values / max(started.levels - 1, 1)
    return np.clip((values - started.low) / max(started.high - started.low, 1e-12), 0, 1)


def cells_rgb(unit: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """[B, D] brightness to [B, H, W, 3] uint8 cells, unsampled places slate."""
    c, h, w = shape
    x = unit.reshape(len(unit), c, h, w)
    rgb = x[:, :3].transpose(0, 2, 3, 1) if c >= 3 else np.repeat(x[:, :1], 3, axis=1).transpose(0, 2, 3, 1)
    out = np.rint(np.nan_to_num(rgb) * 255).astype(np.uint8)
    out[np.isnan(rgb).any(-1)] = theme.UNFILLED
    return out


class CompareWindow(QWidget):
    """Two checkpoints side by side; decides what to run, the views draw it."""

    _run_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare checkpoints")
        self.setObjectName("compare-window")
        self.resize(1240, 760)
        self.run_id = 0
        self.started: CompareStarted | None = None
        self.values: dict[str, np.ndarray] = {}
        self.forced: dict[int, Any] = {}
        self.input_x: np.ndarray | None = None
        self.last_error = ""
        self.finished = False

        self.a, self.b = QComboBox(), QComboBox()
        self.a.setToolTip("Checkpoint A (left)")
        self.b.setToolTip("Checkpoint B (right): of the same modality as A")
        self.samples = QSpinBox(minimum=1, maximum=64, value=4)
        self.samples.setToolTip("Samples per model; both use the same seed")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed.setToolTip("One seed drives both models")
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=5.0, singleStep=0.1, value=1.0, decimals=2)
        self.temperature.setToolTip("Sampling temperature for both (0 = greedy)")
        self.run_button = QPushButton("Compare")
        self.run_button.setToolTip("Sample both with the same settings, step by step, and teacher-force both on the input")
        self.input_button = QPushButton("Teacher-force on an image…")
        self.input_button.setToolTip("Pick an image: both models read it, and the heatmap shows where they disagree")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "A", "B"])
        self.table.setToolTip("Both checkpoints' held-out metrics")
        self.table.verticalHeader().hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form = QFormLayout()
        for label, w in (("A", self.a), ("B", self.b), ("Samples", self.samples), ("Seed", self.seed),
                         ("Temperature", self.temperature)):
            form.addRow(label, w)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.run_button)
        left.addWidget(self.input_button)
        left.addWidget(self.table, 1)
        left.addWidget(self.status)
        self.canvas_a, self.canvas_b = ImageGridCanvas(), ImageGridCanvas()
        self.title_a, self.title_b = QLabel("A"), QLabel("B")
        self.divergence = StepDivergencePlot()
        self.divergence.setToolTip("Per step, batch means: KL between the two models' distributions, and the "
                                   "difference in log p of the values they chose")
        self.heatmap = DisagreementHeatmap()
        self.heatmap.setToolTip("Teacher forcing: KL(p_A ‖ p_B) at each pixel of the input (brighter = more disagreement)")
        grid = QGridLayout(self)
        grid.addLayout(left, 0, 0, 3, 1)
        grid.addWidget(self.title_a, 0, 1)
        grid.addWidget(self.title_b, 0, 2)
        grid.addWidget(self.canvas_a, 1, 1)
        grid.addWidget(self.canvas_b, 1, 2)
        grid.addWidget(self.divergence, 2, 1, 1, 2)
        grid.addWidget(self.heatmap, 0, 3, 3, 1)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 3)
        grid.setColumnStretch(3, 2)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 2)

        self._thread = QThread()
        self._thread.setObjectName("arstudio-compare")
        self.worker = CompareWorker()
        self.worker.moveToThread(self._thread)
        self._run_requested.connect(self.worker.run)
        self.worker.comparison_started.connect(self._on_started)
        self.worker.steps_compared.connect(self._on_steps)
        self.worker.disagreement_found.connect(self._on_disagreement)
        self.worker.comparison_failed.connect(self._on_failed)
        self.worker.comparison_finished.connect(self._on_finished)
        self._thread.start()
        self.run_button.clicked.connect(self.start)
        self.input_button.clicked.connect(self._pick_input)
        self.refresh()

    def refresh(self, extra: list[Path] | None = None) -> None:
        """List the shipped and user checkpoints (and ``extra`` files) in both pickers."""
        entries = [(e.name, str(e.path)) for e in catalog.list_checkpoints() if e.meta is not None]
        entries += [(p.stem, str(p)) for p in extra or [] if str(p) not in {q for _, q in entries}]
        for combo in (self.a, self.b):
            current = combo.currentData()
            combo.clear()
            for name, path in entries:
                combo.addItem(name, path)
            combo.setCurrentIndex(max(0, combo.findData(current)))
        if self.b.currentIndex() == self.a.currentIndex() and self.b.count() > 1:
            self.b.setCurrentIndex((self.a.currentIndex() + 1) % self.b.count())

    def set_pair(self, a: str | Path, b: str | Path) -> None:
        """Pick checkpoints A and B (added to the pickers if not listed)."""
        for combo, p in ((self.a, str(a)), (self.b, str(b))):
            if combo.findData(p) < 0:
                combo.addItem(Path(p).stem, p)
            combo.setCurrentIndex(combo.findData(p))

    def set_forced(self, forced: dict[int, Any]) -> None:
        """Forced values (step -> value) that drive both runs."""
        self.forced = dict(forced)

    def set_input(self, path: str | Path) -> bool:
        """Teacher-force both on an image file (converted to A's shape and values)."""
        try:
            meta = read_meta(self.a.currentData())
            model = get_kind(meta.kind).build(meta.config)
            self.input_x = image_input(path, tuple(model.spec.layout.shape), model.spec.values)
        except Exception as e:
            self._fail(f"{path}: cannot be used as an input ({e})")
            return False
        self.input_name = Path(path).name
        return True

    def _pick_input(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "An image to teacher-force both models on", str(Path.home()),
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif);;All files (*)")
        if path and self.set_input(path):
            self.start()

    def start(self) -> bool:
        """Compare the picked pair; False (with a message) when they cannot be compared."""
        pa, pb = self.a.currentData(), self.b.currentData()
        if not pa or not pb:
            self._fail("pick two checkpoints")
            return False
        try:
            check_comparable(pa, pb)
        except Exception as e:
            self._fail(str(e))
            return False
        self.run_id += 1
        self.worker.cancelled_run = self.run_id - 1
        self.finished, self.started, self.last_error = False, None, ""
        policy = SamplingPolicy(temperature=float(self.temperature.value()))
        self.status.setText("Comparing…")
        self._run_requested.emit(CompareRequest(self.run_id, Path(pa), Path(pb), int(self.samples.value()),
                                                int(self.seed.value()), policy, dict(self.forced), self.input_x))
        return True

    def _fail(self, message: str) -> None:
        self.last_error = message
        self.status.setText(f"<span style='color:#e5534b'>{message}</span>")

    def _on_started(self, s: CompareStarted) -> None:
        if s.run_id != self.run_id:
            return
        self.started = s
        d = int(np.prod(s.shape))
        self.values = {"a": np.full((s.batch, d), np.nan), "b": np.full((s.batch, d), np.nan)}
        for canvas in (self.canvas_a, self.canvas_b):
            canvas.set_grid(s.batch, s.shape[1], s.shape[2])
        self.title_a.setText(f"A: {self.a.currentText()}")
        self.title_b.setText(f"B: {self.b.currentText()}")
        self.divergence.reset(d)
        self.table.setRowCount(len(s.rows))
        for i, row in enumerate(s.rows):
            for j, v in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()

    def _on_steps(self, b: CompareBatch) -> None:
        if b.run_id != self.run_id or self.started is None:
            return
        self.values["a"][:, b.index_a] = b.value_a.T
        self.values["b"][:, b.index_b] = b.value_b.T
        for key, canvas in (("a", self.canvas_a), ("b", self.canvas_b)):
            canvas.set_cells(cells_rgb(brightness(self.values[key], self.started), self.started.shape))
        self.divergence.append(b.t, b.kl, b.dlogp)

    def _on_disagreement(self, run_id: int, d: Disagreement) -> None:
        if run_id != self.run_id or self.started is None:
            return
        c, h, w = d.shape
        img = brightness(d.x, self.started).reshape(c, h, w)
        img = img[0] if c == 1 else img[:3].transpose(1, 2, 0)
        heat = d.kl.reshape(c, h, w).sum(0)
        name = getattr(self, "input_name", "a held-out example") if self.input_x is not None else "a held-out example"
        self.heatmap.show_map(img, heat, f"Teacher-forced on {name}: total KL {d.kl.sum():.2f} nats; "
                                         f"log p A {d.log_p_a.sum():.2f}, B {d.log_p_b.sum():.2f} nats")
        self.disagreement = d

    def _on_failed(self, run_id: int, message: str) -> None:
        if run_id == self.run_id:
            self._fail(message)

    def _on_finished(self, run_id: int) -> None:
        if run_id == self.run_id:
            self.finished = True
            kl = self.divergence.kl_v
            self.status.setText(f"Done: mean KL per step {kl.mean():.3f} nats, "
                                f"Σ(log p_A − log p_B) {self.divergence.dlogp_v.sum():.2f} nats")

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the comparison and join its thread."""
        self.worker.cancelled_run = self.run_id
        self._thread.quit()
        return bool(self._thread.wait(timeout_ms))
