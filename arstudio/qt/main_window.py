"""The main window: it arranges the docks, menus and status bar, and wires who tells whom what.

Controls (left), the modality panel and the distribution view (right), the log p strip (bottom).
What a run is lives in ``RunSession``; what a gesture means lives in the panel and the inspector;
the frame loop that shows a run is ``RunPresenter``; File > Export is ``ExportFlow``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QIcon, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu, QMessageBox, QWidget

import arstudio
from arstudio.core import catalog
from arstudio.core.modality import modalities
from arstudio.engine.messages import ModelInfo
from arstudio.engine.record import RunRecord
from arstudio.qt.checkpoints.browser import CheckpointBrowser
from arstudio.qt.checkpoints.compare_window import CompareWindow
from arstudio.qt.checkpoints.train_dialog import TrainDialog
from arstudio.qt.controls import ControlsPanel, PlaybackKeys
from arstudio.qt.dock_layout import STATE_VERSION, DockLayout, make_dock
from arstudio.qt.export_flow import ExportFlow
from arstudio.qt.inspector import Inspector
from arstudio.qt.modalities import panel_class
from arstudio.qt.panel import ModalityPanel
from arstudio.qt.presenter import RunPresenter
from arstudio.qt.replay import ReplayOpener
from arstudio.qt.sampler.session import RunSession
from arstudio.qt.settings import StudioSettings
from arstudio.qt.views.dist_plot import DistPlot
from arstudio.qt.views.strip import LogProbStrip

ASSETS = Path(__file__).resolve().parents[2] / "assets"
PREFERRED = ("nade-digits", "made-digits", "fvsbn-digits")
CLOSE_GRACE_MS = 100  # how long the sampling process is given to quit on close before it is terminated


def default_checkpoint(entries: list[catalog.CatalogEntry]) -> catalog.CatalogEntry | None:
    """The checkpoint the studio opens with: shipped NADE if present, else the first readable one."""
    readable = [e for e in entries if e.meta is not None]
    for name in PREFERRED:
        for e in readable:
            if e.name == name:
                return e
    nade = [e for e in readable if e.meta is not None and e.meta.kind == "nade"]
    return (nade or readable or [None])[0]


class MainWindow(QMainWindow):
    """The studio's window. ``session`` runs generation; the docks show it."""

    def __init__(self, checkpoint: str | Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("arstudio")
        icon = ASSETS / "arstudio.png"
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.resize(1260, 780)
        self.settings = StudioSettings()
        self.session = RunSession(self)
        self.controls = ControlsPanel()
        self.dist = DistPlot()
        self.strip = LogProbStrip()
        self.panel: ModalityPanel | None = None
        self.inspector = Inspector(self.dist, self.strip, self._describe_step, self)
        self.error_box: QMessageBox | None = None
        self.last_error = ""
        self._closed = False
        self._closing = False

        self.controls_dock = self._dock("Model && sampling", self.controls, "controls")
        self.panel_dock = self._dock("Samples", QLabel("Loading…", alignment=Qt.AlignmentFlag.AlignCenter), "modality")
        self.dist_dock = self._dock("p(x_t | x_<t)", self.dist, "distribution")
        self.strip_dock = self._dock("log p per step", self.strip, "strip")
        self.docks = DockLayout(self, self.controls_dock, self.panel_dock, self.dist_dock, self.strip_dock)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a click on empty space takes the focus from a field
        self.keys = PlaybackKeys(self, self.session.toggle_play, self.session.step_once, self.session.reset)

        self._build_menus()
        self.state_label, self.speed_label, self.device_label = QLabel("idle"), QLabel(""), QLabel("")
        for w in (self.state_label, self.speed_label, self.device_label):
            w.setMargin(2)
            self.statusBar().addPermanentWidget(w)
        self.presenter = RunPresenter(self.session, self.controls, self.inspector, self.state_label,
                                      self.speed_label, self)
        self._redraw = self.presenter.frames  # the frame loop's throttle (tests flush it)
        self.exporter = ExportFlow(self.session, self, self.settings)
        for part in (self.presenter, self.exporter):
            part.message_posted.connect(self.statusBar().showMessage)
            part.problem_found.connect(self.show_error)
        self._wire()
        self.replayer = ReplayOpener(self.session, self)
        self.replayer.replay_ready.connect(lambda msg: self.statusBar().showMessage(msg, 15000))
        self.replayer.sample_chosen.connect(lambda b: self.panel.show_sample(b) if self.panel is not None else None)
        self.replayer.replay_failed.connect(lambda msg: self.show_error("Cannot replay this file", msg))
        self._build_tools()
        geometry, state = self.settings.window()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None and self.restoreState(state, STATE_VERSION):
            self.docks.arranged = True
        self.panel_dock.show()  # the samples are what the studio is for: never lost from an earlier session
        self.controls.set_catalog(catalog.list_checkpoints())
        self.controls.restore(self.settings.sampling())
        self.session.set_rate(self.controls.rate())
        self.session.set_settings(self.controls.settings())
        if checkpoint is None:  # the model of the last session, else the default one
            recent = self.settings.recent_files()
            entry = default_checkpoint(catalog.list_checkpoints()) if not recent else None
            checkpoint = recent[0] if recent else entry.path if entry is not None else None
        if checkpoint is not None:
            self.open_checkpoint(checkpoint)
        else:
            self.statusBar().showMessage("No checkpoints found: use File > Open checkpoint…")

    # ---- arrangement ---------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, name: str) -> QDockWidget:
        return make_dock(self, title, widget, name)

    def reset_layout(self) -> None:
        """Every dock back in its place, shown, and sized for the window."""
        self.docks.reset()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.docks.shown()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        """A larger window gives its room to the samples, not to the strip or the controls."""
        super().resizeEvent(event)
        self.docks.resized(event.oldSize(), event.size())

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open checkpoint…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_folder_action = QAction("Open GPT-2 &folder…", self)
        self.open_folder_action.setToolTip("Open a folder holding a Hugging Face GPT-2 model "
                                           "(config.json, model.safetensors, vocab.json, merges.txt)")
        self.open_folder_action.triggered.connect(self.open_folder_dialog)
        self.export_action = QAction("&Export PNG…", self, shortcut=QKeySequence("Ctrl+E"))
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        self.replay_action = QAction("&Replay export…", self, shortcut=QKeySequence("Ctrl+R"))
        self.replay_action.setToolTip("Open a file the studio or `arstudio sample` wrote (PNG, JSON, WAV ...) "
                                      "and step through how it was made")
        self.replay_action.triggered.connect(self.replay_dialog)
        self.open_action.triggered.connect(self.open_dialog)
        self.export_action.triggered.connect(self.export_dialog)
        self.quit_action.triggered.connect(self.close)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.setToolTip("Checkpoints opened in earlier sessions")
        self._fill_recent(self.settings.recent_files())
        file_menu.addActions([self.open_action, self.open_folder_action, self.export_action, self.replay_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = self.menuBar().addMenu("&Run")
        run_menu.addActions(self.keys.actions)
        self.view_menu = view_menu = self.menuBar().addMenu("&View")
        for dock in (self.controls_dock, self.panel_dock, self.dist_dock, self.strip_dock):
            view_menu.addAction(dock.toggleViewAction())
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&About arstudio", self._about)

    def _wire(self) -> None:
        c, s, ins = self.controls, self.session, self.inspector
        c.checkpoint_chosen.connect(self.open_checkpoint)
        c.open_requested.connect(self.open_dialog)
        c.settings_changed.connect(self.presenter.apply_settings)
        c.rate_changed.connect(s.set_rate)
        c.play_clicked.connect(s.toggle_play)
        c.step_clicked.connect(s.step_once)
        c.reset_clicked.connect(s.reset)
        s.loading_started.connect(lambda p: self.statusBar().showMessage(f"Loading {p}…"))
        s.checkpoint_loaded.connect(self._on_loaded)
        s.checkpoint_failed.connect(lambda msg: self.show_error("Could not open the checkpoint", msg))
        ins.value_forced.connect(s.branch)

    def _set_panel(self, info: ModelInfo) -> bool:
        modality = info.spec.layout.modality
        if self.panel is not None and self.panel.modality == modality:
            return True
        try:
            cls = panel_class(modality)
        except KeyError as e:
            self.show_error("No panel for this model", str(e.args[0]))
            return False
        if self.panel is not None:
            self.panel.shutdown()
        self.panel = cls()
        self.presenter.set_panel(self.panel)
        self.panel.condition_chosen.connect(self.session.set_condition)
        self.panel.completion_requested.connect(self.session.complete)
        self.panel.problem_found.connect(self.show_error)
        self.panel.run_planned.connect(self.session.set_plan)
        self.panel.run_planned.connect(lambda plan, _start: self.controls.set_batch_planned(plan.batch is not None))
        self.controls.set_batch_planned(False)
        self.panel.step_hovered.connect(self.inspector.hover)
        self.panel.step_picked.connect(self.inspector.pick)
        self.inspector.focus_changed.connect(self.panel.show_focus)
        self.panel_dock.setWidget(self.panel)
        self.panel_dock.setWindowTitle(cls.title)
        self.dist.set_value_order(cls.values_in_order)
        self.export_action.setText(f"&{cls.export_label.lstrip('&')}")
        return True

    # ---- actions -------------------------------------------------------------------------
    def open_checkpoint(self, path: str | Path) -> None:
        """Load a checkpoint (in the sampler); errors come back as a message, not an exception."""
        self.session.load(str(path))

    def _fill_recent(self, files: list[str]) -> None:
        self.recent_menu.clear()
        for f in files:
            self.recent_menu.addAction(Path(f).name, lambda f=f: self.open_checkpoint(f)).setToolTip(f)
        self.recent_menu.setEnabled(bool(files))

    def open_dialog(self) -> None:
        """Ask for a checkpoint file and open it."""
        start = str(catalog.SHIPPED_DIR if catalog.SHIPPED_DIR.is_dir() else Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", start,
                                              "Checkpoints (*.safetensors);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def open_folder_dialog(self) -> None:
        """Ask for a GPT-2 folder (Hugging Face's layout) and open it; what is missing is said as for a file."""
        path = QFileDialog.getExistingDirectory(self, "Open GPT-2 folder", str(Path.home()))
        if path:
            self.open_checkpoint(path)

    def export_dialog(self) -> Path | None:
        """Ask where to export the current samples, then write them (``ExportFlow``); the path written, or None."""
        return self.exporter.ask(self.panel)

    def export_to(self, path: str | Path) -> Path | None:
        """Export the current run's samples to ``path``; show a message on failure and return None."""
        return self.exporter.write(self.panel, path)

    def _build_tools(self) -> None:
        """The checkpoint browser dock, and the Train menu (training dialog, comparing checkpoints)."""
        self.browser = CheckpointBrowser()
        self.browser_dock = self._dock("Checkpoints", self.browser, "browser")
        self.docks.add_tab(self.browser_dock)
        self.browser.checkpoint_chosen.connect(self.open_checkpoint)
        self.session.checkpoint_loaded.connect(self._on_browser_loaded)
        self.train_dialog: TrainDialog | None = None
        self.tools_menu = QMenu("&Train", self)
        self.menuBar().insertMenu(self.menuBar().actions()[-1], self.tools_menu)
        self.train_action = QAction("&Train a model…", self, shortcut=QKeySequence("Ctrl+T"))
        self.train_action.triggered.connect(self.show_train_dialog)
        self.tools_menu.addAction(self.train_action)
        self.compare_window: CompareWindow | None = None
        self.compare_action = QAction("&Compare checkpoints…", self, shortcut=QKeySequence("Ctrl+K"))
        self.compare_action.triggered.connect(self.show_compare)
        self.tools_menu.addAction(self.compare_action)
        self.train_action.setToolTip("Train a model in the background; the result appears in the checkpoint browser")
        self.view_menu.addAction(self.browser_dock.toggleViewAction())
        self.view_menu.addSeparator()
        self.view_menu.addAction("Reset &layout", self.reset_layout).setToolTip(
            "Every panel back in its place, shown, sized for the window")

    def _on_browser_loaded(self, info: ModelInfo) -> None:
        self.browser.add_file(info.path)
        self.browser.select_path(info.path)

    def show_train_dialog(self) -> TrainDialog:
        """Open (or raise) the training dialog."""
        if self.train_dialog is None:
            self.train_dialog = TrainDialog(self)
            self.train_dialog.checkpoint_saved.connect(lambda _p: self._refresh_catalog())
        if self.train_dialog.isVisible():
            self.train_dialog.raise_()
        self.train_dialog.show()
        return self.train_dialog

    def show_compare(self) -> CompareWindow:
        """Open (or raise) the compare window, with the loaded checkpoint as A and the run's forced values."""
        if self.compare_window is None:
            self.compare_window = CompareWindow()
        w = self.compare_window
        w.refresh(self.browser.opened)
        if self.session.model is not None:
            w.set_pair(self.session.model.path)  # B: a checkpoint that compares with it (or none, said there)
        if self.session.record is not None:
            w.set_forced(self.session.record.info.request.forced)
        if w.isVisible():
            w.raise_()
        w.show()
        return w

    def _refresh_catalog(self) -> None:
        self.browser.refresh()
        current = str(self.session.model.path) if self.session.model is not None else None
        self.controls.set_catalog(catalog.list_checkpoints(), current)

    def replay_dialog(self) -> None:
        """Ask for an exported file and replay it step by step."""
        found = sorted({f"*{x}" for m in modalities().values() for f in m.formats if f.read_recipe for x in f.suffixes})
        path, _ = QFileDialog.getOpenFileName(self, "Replay export", str(self.settings.export_dir() or Path.cwd()),
                                              f"Exports ({' '.join(found) or '*'});;All files (*)")
        if path:
            self.replayer.open(path)

    def show_error(self, title: str, message: str) -> None:
        """Show ``message`` in a (non-blocking) message box and in the status bar."""
        self.last_error = message
        self.statusBar().showMessage(message, 15000)
        if self._closed:
            return
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        box.open()
        self.error_box = box

    def _about(self) -> None:
        QMessageBox.about(self, "About arstudio",
                          f"arstudio {arstudio.__version__}: watch autoregressive models generate, one step at a time.")

    # ---- what the session reports ----------------------------------------------------------
    def _describe_step(self, record: RunRecord, step: int) -> str:
        return self.panel.describe_step(record, step) if self.panel is not None else f"step {step}"

    def _on_loaded(self, info: ModelInfo) -> None:
        if self._closed:  # the window closed while the checkpoint loaded: start no panel (or its threads) now
            return
        if not self._set_panel(info):
            return
        self.controls.set_model(info)
        self.controls.show_settings(self.session.settings)
        self.presenter.model_loaded(info)
        self.controls.set_batch_planned(self.session.plan.batch is not None)
        self.device_label.setText(info.device)
        self.setWindowTitle(f"arstudio: {info.name}")
        self.statusBar().showMessage(f"Loaded {info.path}", 5000)
        self._fill_recent(self.settings.add_recent(info.path))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        """Remember the layout, hide at once, then cancel the run and stop the workers and the sampling process.

        The window goes before anything is joined: a run of 64 PixelCNN samples is cancelled between
        two steps, and the sampling process is given ``CLOSE_GRACE_MS`` to quit before it is terminated.
        """
        if not self._closed:
            self.settings.save_window(self.saveGeometry(), self.saveState(STATE_VERSION))
            self.settings.save_sampling(self.controls.remembered())
        if self._closing:  # a second close while this one hides the window and stops the workers
            return
        self._closed = self._closing = True
        self.session.cancel()  # the sampler stops at its next step while the window goes
        self.hide()
        QGuiApplication.sync()  # the window is off the screen now, not after the joins below
        if getattr(self, "train_dialog", None) is not None:
            self.train_dialog.shutdown()
        if getattr(self, "compare_window", None) is not None:
            self.compare_window.shutdown()
            self.compare_window.close()
        if self.error_box is not None:
            self.error_box.close()
        if self.panel is not None:
            self.panel.shutdown()
        self.session.shutdown(process_grace_ms=CLOSE_GRACE_MS)
        super().closeEvent(event)
