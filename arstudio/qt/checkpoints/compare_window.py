"""The compare window: two checkpoints of one modality side by side (the logic is ``arstudio.train.compare``).

B defaults to a checkpoint that compares with A (``compare_pairing``: same modality, values and
shape), never A itself; the window says so when there is none. Esc closes it.
It decides what to run and feeds the views: both runs' samples (an image grid for (C, H, W)
layouts, the sequences as text otherwise), the per-step divergence plot, the metrics table, and
where the models disagree most (a teacher-forcing heatmap over an image; for sequences the steps
of largest KL with what each model wrote). Units come from the modality (``Modality.step_unit``).
The comparison (``run_comparison``) is a generator job of the window's ``JobRunner``: a newer Compare
or closing the window ends the old one at its next yield. No exception leaves a slot: it becomes
the status line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QLabel, QPlainTextEdit,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from arstudio.core.checkpoint import read_meta
from arstudio.core.modality import Modality, get_modality
from arstudio.core.policy import SamplingPolicy
from arstudio.core.registry import get as get_kind
from arstudio.engine.compare_run import (CompareBatch, CompareRequest, CompareStarted, CompareSummary,
                                             Disagreement, check_comparable, is_grid, run_comparison)
from arstudio.qt.checkpoints.compare_picker import PairPicker
from arstudio.qt.checkpoints.compare_plots import DisagreementHeatmap, StepDivergencePlot, brightness, sequence_text
from arstudio.train.compare_text import (metric_rows, summary_line, teacher_caption, teacher_text,
                                                  top_disagreements)
from arstudio.qt.jobs import JobRunner
from arstudio.qt.modalities.image.grid import ImageGridCanvas, cells_rgb
from arstudio.train.compare import modality_of

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(slot: F) -> F:
    """A slot whose exception becomes the window's status line instead of escaping into Qt."""
    @functools.wraps(slot)
    def run(self: "CompareWindow", *args: Any) -> Any:
        try:
            return slot(self, *args)
        except Exception as e:  # a bug: say it, keep the window alive
            self._fail(f"internal error: {type(e).__name__}: {e}")
            return None

    return run  # type: ignore[return-value]


def forced_for_batch(forced: dict[int, Any], batch: int) -> dict[int, Any]:
    """A run's forced values for a comparison of ``batch`` samples: a per-sample value [B'] of another
    batch (a branch in the studio forces one sample) becomes that of its first sample for all."""
    out: dict[int, Any] = {}
    for t, v in forced.items():
        a = np.asarray(v)
        out[int(t)] = a if a.ndim == 0 or len(a) == batch else a.reshape(-1)[0]
    return out


class CompareWindow(QWidget):
    """Two checkpoints side by side; decides what to run, the views draw it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare checkpoints")
        self.setObjectName("compare-window")
        self.resize(1240, 760)
        self.run_id = 0
        self.started: CompareStarted | None = None
        self.summary: CompareSummary | None = None
        self.values: dict[str, np.ndarray] = {}
        self.log_p: dict[str, np.ndarray] = {}
        self.forced: dict[int, Any] = {}
        self.input_x: np.ndarray | None = None
        self.input_name = ""
        self.input_path = ""  # the last file teacher-forced on (its folder is where the file dialog opens)
        self._input_for: str | None = None  # the checkpoint A that ``input_x`` was read for
        self.disagreement: Disagreement | None = None
        self._teacher_text = ""
        self.last_error = ""
        self.finished = False

        self.pair = PairPicker(self)
        self.a, self.b = self.pair.a, self.pair.b
        self.samples = QSpinBox(minimum=1, maximum=64, value=4)
        self.samples.setToolTip("Samples per model; both use the same seed")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed.setToolTip("One seed drives both models")
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=5.0, singleStep=0.1, value=1.0, decimals=2)
        self.temperature.setToolTip("Sampling temperature for both (0 = greedy)")
        self.steps = QSpinBox(minimum=0, maximum=1_000_000, value=0)
        self.steps.setSpecialValueText("all")
        self.steps.setToolTip("Steps to compare (all: every step both models write; sequences: up to the "
                              "shorter context)")
        self.run_button = QPushButton("Compare")
        self.run_button.setToolTip("Sample both with the same settings, step by step, and teacher-force both "
                                   "on the input")
        self.input_button = QPushButton("Teacher-force on a file…")
        self.input_button.setToolTip("Pick a file: both models read it, and the view on the right shows where "
                                     "their predictions differ")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "A", "B"])
        self.table.setToolTip("Both checkpoints' held-out metrics")
        self.table.verticalHeader().hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form = QFormLayout()
        for label, w in (("A", self.a), ("B", self.b), ("Samples", self.samples), ("Seed", self.seed),
                         ("Temperature", self.temperature), ("Steps", self.steps)):
            form.addRow(label, w)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.run_button)
        left.addWidget(self.input_button)
        left.addWidget(self.table, 1)
        left.addWidget(self.status)
        self.canvas_a, self.canvas_b = ImageGridCanvas(), ImageGridCanvas()
        self.text_a, self.text_b = QPlainTextEdit(), QPlainTextEdit()
        for side, text in (("A", self.text_a), ("B", self.text_b)):
            text.setReadOnly(True)
            text.setToolTip(f"What {side} wrote: one sample per line")
            text.hide()
        self.title_a, self.title_b = QLabel("A"), QLabel("B")
        self.divergence = StepDivergencePlot()
        self.divergence.setToolTip("Per step, batch means: KL between the two models' distributions, and the "
                                   "difference in log p of the values they chose")
        self.heatmap = DisagreementHeatmap()
        self.heatmap.setToolTip("Teacher forcing: KL(p_A ‖ p_B) at each pixel of the input "
                                "(brighter = more disagreement)")
        self.disagreements = QPlainTextEdit()
        self.disagreements.setReadOnly(True)
        self.disagreements.setToolTip("The steps where the two models disagree most (largest KL), with what each "
                                      "wrote in the first sample")
        self.disagreements.hide()
        grid = QGridLayout(self)
        grid.addLayout(left, 0, 0, 3, 1)
        grid.addWidget(self.title_a, 0, 1)
        grid.addWidget(self.title_b, 0, 2)
        grid.addWidget(self.canvas_a, 1, 1)
        grid.addWidget(self.canvas_b, 1, 2)
        grid.addWidget(self.text_a, 1, 1)
        grid.addWidget(self.text_b, 1, 2)
        grid.addWidget(self.divergence, 2, 1, 1, 2)
        grid.addWidget(self.heatmap, 0, 3, 3, 1)
        grid.addWidget(self.disagreements, 0, 3, 3, 1)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 3)
        grid.setColumnStretch(3, 2)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 2)

        self.jobs = self._new_runner()
        self.close_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        self.run_button.clicked.connect(self.start)
        self.input_button.clicked.connect(self._pick_input)
        self.pair.a_changed.connect(self._on_pick)
        self.b.currentIndexChanged.connect(self._on_pick)
        self.pair.hint.connect(self._hint)
        self.refresh()

    # ---- choosing what to compare ----------------------------------------------------------------
    def refresh(self, extra: list[Path] | None = None) -> None:
        """List the shipped and user checkpoints (and ``extra`` files) in both pickers; B compares with A."""
        self.pair.refresh(extra)

    def set_pair(self, a: str | Path, b: str | Path | None = None) -> None:
        """Pick checkpoints A and B (``PairPicker.set_pair``: B follows A unless given one that fits)."""
        self.pair.set_pair(a, b)

    def _hint(self, text: str) -> None:
        """A note on the status line about the pair picked (not an error of a run)."""
        if text or self.status.property("hint"):
            self.status.setProperty("hint", bool(text))
            self.status.setText(text)

    def set_forced(self, forced: dict[int, Any]) -> None:
        """Forced values (step -> value) that drive both runs."""
        self.forced = dict(forced)

    def _modality_a(self) -> Modality | None:
        """Checkpoint A's modality plug-in (None when A cannot be read or its modality is not installed)."""
        try:
            return get_modality(modality_of(read_meta(self.a.currentData())))
        except Exception:
            return None

    @_guarded
    def _on_pick(self, *_: Any) -> None:
        """Compare only with a B picked; offer teacher forcing on a file where A's modality reads a person's files."""
        has_b = bool(self.b.currentData())
        self.run_button.setEnabled(has_b)
        self.input_button.setEnabled(has_b)
        m = self._modality_a()
        self.input_button.setVisible(m is not None and m.import_file is not None)
        if m is not None:
            self.input_button.setToolTip(f"Pick a file ({m.title.lower()}): both models read it, and the view on "
                                         "the right shows where their predictions differ")

    def set_input(self, path: str | Path) -> bool:
        """Teacher-force both on a file, read by A's modality (converted to A's shape and values)."""
        try:
            meta = read_meta(self.a.currentData())
            model = get_kind(meta.kind).build(meta.config)
            m = get_modality(model.spec.layout.modality)
            if m.import_file is None:
                raise ValueError(f"{m.name} models cannot read a file")
            self.input_x = np.asarray(m.import_file(Path(path), model.spec)).reshape(-1)
        except Exception as e:
            self._fail(f"{path}: cannot be used as an input ({e})")
            return False
        self.input_name, self._input_for, self.input_path = Path(path).name, self.a.currentData(), str(path)
        return True

    @_guarded
    def _pick_input(self, *_: Any) -> None:
        m = self._modality_a()
        if m is None:
            self._fail("checkpoint A cannot be read")
            return
        filters = f"{m.title} ({' '.join('*' + s for s in m.suffixes)});;All files (*)"
        start = str(Path(self.input_path).parent if self.input_path else Path.home())  # the last folder used
        path, _ = QFileDialog.getOpenFileName(self, "A file to teacher-force both models on", start, filters)
        if path and self.set_input(path):
            self.start()

    def start(self) -> bool:
        """Compare the picked pair; False (with a message) when they cannot be compared."""
        pa, pb = self.a.currentData(), self.b.currentData()
        if not pa or not pb:
            self._fail(f"pick a checkpoint B to compare with {self.a.currentText()}" if pa else "pick checkpoint A")
            return False
        try:
            check_comparable(pa, pb)
            policy = SamplingPolicy(temperature=float(self.temperature.value()))
        except Exception as e:
            self._fail(str(e))
            return False
        if not self.jobs.is_running():  # shut down by an earlier close: the window was opened again
            self.jobs.deleteLater()
            self.jobs = self._new_runner()
        self.run_id += 1
        self.finished, self.started, self.summary, self.last_error = False, None, None, ""
        self.disagreement, self._teacher_text = None, ""
        self._hint("")
        self.status.setText("Comparing…")
        steps = int(self.steps.value()) or None
        x = self.input_x if self._input_for == pa else None  # an input read for another A does not fit
        req = CompareRequest(self.run_id, Path(pa), Path(pb), int(self.samples.value()), int(self.seed.value()),
                             policy, forced_for_batch(self.forced, int(self.samples.value())), x, steps)
        self.jobs.submit(run_comparison, req)  # supersedes the comparison in progress
        return True

    # ---- what the job sends --------------------------------------------------------------------
    def _new_runner(self) -> JobRunner:
        jobs = JobRunner("arstudio-compare", self)
        jobs.progressed.connect(self._on_message)
        jobs.finished.connect(lambda _job, summary: self._on_finished(summary))
        jobs.failed.connect(lambda _job, message: self._on_failed(message))
        return jobs

    @_guarded
    def _on_message(self, _job: int, message: object) -> None:
        """What the comparison yields (the runner delivers only the newest job's)."""
        if isinstance(message, CompareStarted):
            self._on_started(message)
        elif isinstance(message, CompareBatch):
            self._on_steps(message)
        elif isinstance(message, Disagreement):
            self._on_disagreement(message)
        else:
            raise TypeError(f"unexpected message {type(message).__name__}")

    def _fail(self, message: str) -> None:
        self.last_error = message
        self.status.setText(f"<span style='color:#e5534b'>{message}</span>")

    @property
    def grid(self) -> bool:
        """True when the current run's samples are images (a (C, H, W) layout)."""
        return self.started is not None and is_grid(self.started.shape)

    @_guarded
    def _on_started(self, s: CompareStarted) -> None:
        if s.run_id != self.run_id:
            return
        self.started = s
        grid = is_grid(s.shape)
        d = int(np.prod(s.shape)) if grid else s.steps
        self.values = {k: np.full((s.batch, d), np.nan) for k in ("a", "b")}
        self.log_p = {k: np.full((s.batch, s.steps), np.nan) for k in ("a", "b")}
        for w in (self.canvas_a, self.canvas_b, self.heatmap):
            w.setVisible(grid)
        for w in (self.text_a, self.text_b, self.disagreements):
            w.setVisible(not grid)
            w.setPlainText("")
        if grid:
            for canvas in (self.canvas_a, self.canvas_b):
                canvas.set_grid(s.batch, s.shape[1], s.shape[2])
        self.title_a.setText(f"A: {self.a.currentText()}")
        self.title_b.setText(f"B: {self.b.currentText()}")
        self.divergence.reset(s.steps, s.step_unit)
        rows = metric_rows(s.rows, s.modality, *(self._metrics(c.currentData()) for c in (self.a, self.b)))
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()

    @staticmethod
    def _metrics(path: str | None) -> dict[str, Any]:
        try:
            return dict(read_meta(path).metrics) if path else {}
        except Exception:  # a folder (a format plug-in's) or a file gone since: no figures to add
            return {}

    @_guarded
    def _on_steps(self, b: CompareBatch) -> None:
        s = self.started
        if b.run_id != self.run_id or s is None:
            return
        if is_grid(s.shape):
            self.values["a"][:, b.index_a] = b.value_a.T
            self.values["b"][:, b.index_b] = b.value_b.T
            for key, canvas in (("a", self.canvas_a), ("b", self.canvas_b)):
                canvas.set_cells(cells_rgb(brightness(self.values[key], s).reshape(-1, *s.shape)))
        else:  # sequences: kept in step order
            self.values["a"][:, b.t] = b.value_a.T
            self.values["b"][:, b.t] = b.value_b.T
            for key, text in (("a", self.text_a), ("b", self.text_b)):
                text.setPlainText("\n".join(sequence_text(row, s.labels) for row in self.values[key]))
        if b.log_p_a is not None and b.log_p_b is not None:
            self.log_p["a"][:, b.t] = b.log_p_a.T
            self.log_p["b"][:, b.t] = b.log_p_b.T
        self.divergence.append(b.t, b.kl, b.dlogp)

    @_guarded
    def _on_disagreement(self, d: Disagreement) -> None:
        s = self.started
        if s is None or s.run_id != self.run_id:
            return
        self.disagreement = d
        name = self.input_name if self._input_for == self.a.currentData() and self.input_name else "a held-out example"
        if not is_grid(d.shape):  # a sequence: the places of largest KL, as text
            self._teacher_text = teacher_text(d, name, s.step_unit, s.labels)
            self.disagreements.setPlainText(self._teacher_text)
            return
        c, h, w = d.shape
        img = brightness(d.x, s).reshape(c, h, w)
        img = img[0] if c == 1 else img[:3].transpose(1, 2, 0)
        self.heatmap.show_map(img, d.kl.reshape(c, h, w).sum(0), teacher_caption(d, name))

    @_guarded
    def _on_failed(self, message: str) -> None:
        self._fail(message)

    @_guarded
    def _on_finished(self, summary: CompareSummary) -> None:
        self.finished, self.summary = True, summary
        s = self.started
        self.status.setText(summary_line(summary, s.step_unit if s is not None else "step"))
        if not self.grid and s is not None:
            top = top_disagreements(self.divergence.t.astype(int), self.divergence.kl_v, self.values, self.log_p,
                                    s.step_unit, s.labels)
            self.disagreements.setPlainText("\n\n".join(t for t in (top, self._teacher_text) if t))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the comparison (at its next step) and join its thread; True when it stopped. Safe to call twice."""
        if self.run_id and not self.finished and not self.last_error and self.jobs.is_running():
            self.status.setText("Stopped.")
        return self.jobs.shutdown(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        """Closing stops the comparison and joins its thread (Compare starts a new one if reopened)."""
        self.shutdown()
        super().closeEvent(event)
