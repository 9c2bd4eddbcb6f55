"""Train from the studio: pick a kind, data and the main hyperparameters; watch the curves; pause, cancel, resume.

The dialog only asks and shows. Training (``run_training``) runs as a job of the dialog's
``JobRunner``, in its own thread; the run is saved atomically to the user's checkpoint folder after
every evaluation and at the end, and ``checkpoint_saved`` tells the studio (the browser lists it).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from arstudio.core import catalog
from arstudio.core.checkpoint import read_meta
from arstudio.core.modality import example_unit, nll_figures
from arstudio.core.registry import get as get_kind
from arstudio.core.registry import kinds
from arstudio.data.datasets import datasets
from arstudio.io.atomic import check_writable
from arstudio.io.errors import ExportError
from arstudio.qt.checkpoints.train_curves import TrainingCurves
from arstudio.engine.training_run import (CheckpointSaved, TrainControl, TrainDone, TrainProgress, TrainRequest,
                                                  run_training)
from arstudio.qt.jobs import JobRunner
from arstudio.train.fit import TrainConfig

FOLDER = "folder"  # item data of the "your own folder of images" entry
NEW_RUN = ""


def unused_name(base: str) -> str:
    """``base``, or ``base-2``, ``base-3`` ...: the first name no checkpoint has, shipped or yours.

    A shipped checkpoint's name is never offered: the file would be found behind the shipped one.
    """
    taken = {e.name for e in catalog.list_checkpoints()}
    folder = catalog.user_models_dir()
    name, i = base, 2
    while name in taken or (folder / f"{name}.safetensors").exists():
        name, i = f"{base}-{i}", i + 1
    return name


def shipped_conflict(out: Path, resume: Path | None = None) -> str:
    """Why a run may not be saved to ``out`` ("" when it may): over or beside the shipped checkpoints,
    or under a shipped checkpoint's name (found behind it by name). Resuming a file saves over itself."""
    shipped = catalog.SHIPPED_DIR.resolve()
    where = out.resolve()
    if where.parent == shipped or shipped in where.parents:
        what = "would overwrite a shipped checkpoint" if where.exists() else "is in the shipped checkpoints' folder"
        return f"{out} {what} ({shipped}); save it under another name in your folder"
    names = {e.name for e in catalog.list_checkpoints() if e.source == "shipped"}
    stem = out.name.removesuffix(".safetensors")
    if stem in names and (resume is None or resume.resolve() != where):
        return (f"{stem!r} is a shipped checkpoint's name: opened by name, the shipped one would be found instead of "
                f"yours; choose another name, e.g. {unused_name(stem)!r}")
    return ""


def fmt_eta(seconds: float) -> str:
    """'1:05' (minutes:seconds), or '?' when unknown."""
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class TrainDialog(QDialog):
    """Asks for a training run and shows it live; owns the training thread (a ``JobRunner``)."""

    checkpoint_saved = Signal(str)  # a path: a periodic save or the finished run
    run_finished = Signal(object)  # TrainDone

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.setObjectName("train-dialog")
        self.resize(760, 680)
        self._run_id = 0
        self.control: TrainControl | None = None
        self.running = False
        self.last_done: TrainDone | None = None
        self._folder: Path | None = None
        self._last_folder: Path | None = None  # the folder of images picked last (the file dialog opens beside it)

        form = QFormLayout()
        self.kind = QComboBox()
        self.kind.setToolTip("The model family to train (from the registry)")
        for k in kinds():
            self.kind.addItem(f"{k.name}: {k.title}", k.name)
        self.data = QComboBox()
        self.data.setToolTip("The data to train on: a built-in data set, or your own folder of images "
                             "(converted to the kind's image shape and levels)")
        self.resume = QComboBox()
        self.resume.setToolTip("Start afresh, or continue a checkpoint's run (its weights, curves and step count)")
        self.steps = QSpinBox(minimum=1, maximum=10_000_000, singleStep=500)
        self.steps.setToolTip("Optimizer steps in all (a resumed run continues up to this many)")
        self.batch = QSpinBox(minimum=1, maximum=65536)
        self.batch.setToolTip("Examples per step")
        self.lr = QDoubleSpinBox(minimum=1e-6, maximum=1.0, decimals=5, singleStep=1e-4)
        self.lr.setToolTip("Adam's learning rate (cosine-annealed to 5% over the run)")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setToolTip("Seed of the batch draws and of any random orderings")
        self.eval_every = QSpinBox(minimum=1, maximum=1_000_000, value=250)
        self.eval_every.setToolTip("Evaluate on the held-out split (and save the checkpoint) every this many steps")
        self.name = QLineEdit()
        self.name.setToolTip(f"File name of the checkpoint, saved in your folder {catalog.user_models_dir()}")
        form.addRow("Kind", self.kind)
        form.addRow("Data", self.data)
        form.addRow("Resume", self.resume)
        form.addRow("Steps", self.steps)
        form.addRow("Batch size", self.batch)
        form.addRow("Learning rate", self.lr)
        form.addRow("Seed", self.seed)
        form.addRow("Evaluate every", self.eval_every)
        form.addRow("Save as", self.name)

        self.progress = QProgressBar()
        self.progress.setToolTip("Steps done and the time left at the speed so far")
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.curves = TrainingCurves()
        self.curves.setToolTip("Train NLL per step (blue line) and held-out NLL on the valid split at each "
                               "evaluation (green points), in nats per example")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start training in the background; the studio stays usable")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume the run between steps")
        self.cancel_button = QPushButton("Stop")
        self.cancel_button.setToolTip("Stop now: the best weights so far are saved, and the run can be resumed")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Hide this window (training goes on)")
        for b in (self.start_button, self.pause_button, self.cancel_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.curves, 1)
        lay.addWidget(self.status)
        lay.addLayout(buttons)

        self.jobs = JobRunner("arstudio-training", self, stop_ms=10000)
        self.jobs.progressed.connect(self._on_message)
        self.jobs.finished.connect(lambda _job, done: self._on_finished(done))
        self.jobs.failed.connect(lambda _job, message: self._on_finished(TrainDone(self._run_id, None, error=message)))

        self.kind.currentIndexChanged.connect(self._on_kind)
        self.data.activated.connect(self._on_data)
        self.resume.activated.connect(self._on_resume)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.hide)
        self.refresh_resumable()
        self._on_kind()
        self._set_running(False)

    # ---- the form ----------------------------------------------------------------------------
    def _on_kind(self, *_: object) -> None:
        k = get_kind(self.kind.currentData())
        self.data.clear()
        for name in datasets(k.modality):  # only the data sets of the kind's modality
            self.data.addItem(name, name)
        if k.modality == "image":  # a folder of image files stands in for an image data set
            self.data.addItem("Your own folder of images…", FOLDER)
        self.data.setCurrentIndex(max(0, self.data.findData(k.default_data)))
        d = {**asdict(TrainConfig()), **k.train_defaults}
        self.steps.setValue(int(d["steps"]))
        self.batch.setValue(int(d["batch_size"]))
        self.lr.setValue(float(d["lr"]))
        self.eval_every.setValue(int(d["eval_every"]))
        self._folder = None
        self.resume.setCurrentIndex(0)
        self.curves.set_unit(example_unit(k.modality))
        self._default_name()

    def _on_data(self, *_: object) -> None:
        if self.data.currentData() == FOLDER:
            start = str(self._last_folder.parent if self._last_folder is not None else Path.home())  # the last one used
            folder = QFileDialog.getExistingDirectory(self, "A folder of images to train on", start)
            if not folder:
                self.data.setCurrentIndex(max(0, self.data.findData(get_kind(self.kind.currentData()).default_data)))
                return
            self.set_folder(Path(folder))
        self._default_name()

    def set_folder(self, folder: Path) -> None:
        """Train on a folder of images (converted to the kind's default data shape and levels)."""
        self._folder = self._last_folder = Path(folder)
        self.data.setCurrentIndex(self.data.findData(FOLDER))
        self.data.setItemText(self.data.currentIndex(), f"folder: {self._folder.name}")
        self._default_name()

    def _data_name(self) -> str:
        if self.data.currentData() == FOLDER and self._folder is not None:
            return f"folder:{self._folder}"
        return str(self.data.currentData())

    def _default_name(self) -> None:
        if self.resume.currentData():
            return
        data = self._folder.name if self.data.currentData() == FOLDER and self._folder else self.data.currentData()
        self.name.setText(unused_name(f"{self.kind.currentData()}-{data}"))

    def refresh_resumable(self) -> None:
        """List the user's checkpoints as runs that can be continued."""
        current = self.resume.currentData()
        self.resume.clear()
        self.resume.addItem("— a new run —", NEW_RUN)
        for e in catalog.list_checkpoints():
            if e.meta is not None and e.source == "user":
                st = e.meta.extra.get("train_state", {})
                where = f"step {st['step']} of {st['steps']}" if "step" in st else "finished"
                self.resume.addItem(f"{e.name} ({e.meta.kind}, {where})", str(e.path))
        self.resume.setCurrentIndex(max(0, self.resume.findData(current)))

    def _on_resume(self, *_: object) -> None:
        path = self.resume.currentData()
        if not path:
            self._default_name()
            return
        try:
            meta = read_meta(path)
        except Exception as e:
            self.status.setText(str(e))
            self.resume.setCurrentIndex(0)
            return
        self.kind.blockSignals(True)
        self.kind.setCurrentIndex(max(0, self.kind.findData(meta.kind)))
        self.kind.blockSignals(False)
        train = {**asdict(TrainConfig()), **meta.extra.get("train", {})}
        done = int(meta.extra.get("train_state", {}).get("step", train["steps"]))
        data = str(meta.data.get("name", ""))
        self.data.clear()
        self.data.addItem(data, data)
        self.steps.setValue(int(train["steps"]) if done < int(train["steps"]) else done + int(train["steps"]))
        self.batch.setValue(int(train["batch_size"]))
        self.lr.setValue(float(train["lr"]))
        self.seed.setValue(int(train["seed"]))
        self.eval_every.setValue(int(train["eval_every"]))
        self.name.setText(Path(path).stem)
        c = meta.history.get("step", [])
        self.curves.set_unit(example_unit(meta.modality))
        self.curves.set_history(c, meta.history.get("train_nats", []), meta.history.get("eval_step", []),
                                meta.history.get("valid_nats", []))
        self.status.setText(f"Resuming {Path(path).name} after step {done}.")

    def request(self) -> TrainRequest:
        """The run the form describes (the output path is checked by ``start``)."""
        name = self.name.text().strip() or "model"
        out = catalog.user_models_dir() / (name if name.endswith(".safetensors") else f"{name}.safetensors")
        resume = self.resume.currentData()
        return TrainRequest(self._run_id, str(self.kind.currentData()), self._data_name(), out, int(self.steps.value()),
                            int(self.batch.value()), float(self.lr.value()), int(self.seed.value()),
                            int(self.eval_every.value()), Path(resume) if resume else None)

    # ---- the run -----------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the run the form describes; False (with a message) when it cannot start."""
        if self.running:
            return False
        self._run_id += 1
        req = self.request()
        try:  # the one output-path check, before any work (the folder is made when the checkpoint is saved)
            check_writable(req.out, ".safetensors", make_folders=True)
        except ExportError as e:
            self.status.setText(f"Cannot save the checkpoint: {e}")
            return False
        conflict = shipped_conflict(req.out, req.resume)
        if conflict:
            self.status.setText(f"Cannot save the checkpoint: {conflict}")
            return False
        if req.data == FOLDER:
            self.status.setText("Pick a folder of images first.")
            return False
        self.control = TrainControl()
        if req.resume is None:
            self.curves.clear_curves()
        self.progress.setRange(0, req.steps)
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.status.setText(f"Training {req.kind} on {req.data}; saving to {req.out}")
        self.last_done = None
        self._set_running(True)
        self.jobs.submit(run_training, req, self.control, self.jobs.report, self.jobs.cancelled)
        return True

    def toggle_pause(self) -> None:
        """Pause a running run, or resume a paused one."""
        if not self.running or self.control is None:
            return
        if self.control.paused:
            self.control.resume()
            self.pause_button.setText("Pause")
            self.status.setText("Training…")
        else:
            self.control.pause()
            self.pause_button.setText("Resume")
            self.status.setText("Paused.")

    def cancel(self) -> None:
        """Stop the run (its best weights so far are saved)."""
        if self.control is not None:
            self.control.cancel()
            self.status.setText("Stopping…")

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Pause")
        self.cancel_button.setEnabled(running)
        for w in (self.kind, self.data, self.resume, self.steps, self.batch, self.lr, self.seed, self.eval_every,
                  self.name):
            w.setEnabled(not running)

    def _on_message(self, _job: int, message: object) -> None:
        if isinstance(message, CheckpointSaved):
            if message.run_id == self._run_id:
                self.checkpoint_saved.emit(message.path)
        elif isinstance(message, TrainProgress):
            self._on_progress(message)

    def _on_progress(self, p: TrainProgress) -> None:
        if p.run_id != self._run_id:
            return
        self.curves.append(p.steps, p.train_nats, p.eval_steps, p.valid_nats)
        self.progress.setValue(p.step)
        paused = " · paused" if self.control is not None and self.control.paused else ""
        self.progress.setFormat(f"{p.step} / {p.total} steps · {fmt_eta(p.eta_s)} left{paused}")

    def _on_finished(self, done: TrainDone) -> None:
        if done.run_id != self._run_id:
            return
        self.last_done = done
        self._set_running(False)
        self.control = None
        if done.error:
            self.progress.setFormat("failed")
            out = self.request().out
            kept = f" The last saved checkpoint, {out}, is intact." if out.exists() else ""
            self.status.setText(f"Training failed: {done.error}.{kept}")
        else:
            modality = get_kind(self.request().kind).modality
            figures = [f for f in nll_figures(done.metrics, modality, "test") if f]
            nll = f" (held-out: {', '.join(figures)})" if figures else ""
            how = "Stopped" if done.cancelled else "Done"
            self.progress.setFormat(f"{how} in {fmt_eta(done.seconds)}")
            self.status.setText(f"{how}: saved {done.path}{nll}. It is in the checkpoint browser.")
            if done.path is not None:
                self.checkpoint_saved.emit(str(done.path))
        self.refresh_resumable()
        self.run_finished.emit(done)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop any run (its best weights so far are saved) and join the training thread; True when it stopped."""
        if self.control is not None:
            self.control.cancel()
        return self.jobs.shutdown(timeout_ms)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        """Closing hides the dialog; training goes on (the main window stops it when the studio closes)."""
        self.hide()
        event.ignore()

