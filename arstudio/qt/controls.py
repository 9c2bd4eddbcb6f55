"""The model and sampling controls: checkpoint picker, play / pause / step / reset, speed, seed, grid, policy."""

from __future__ import annotations

import random

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QSlider, QSpinBox, QStyle,
                               QTextEdit, QToolButton, QVBoxLayout, QWidget)

from arstudio.core.catalog import CatalogEntry
from arstudio.core.modality import nll_figures
from arstudio.core.policy import SamplingPolicy
from arstudio.engine.messages import ModelInfo
from arstudio.qt.sampler.session import FINISHED, IDLE, PAUSED, RUNNING, RunSettings

TOP_K_TIP = "Sample only among the k most probable values (off: all of them)"
TOP_K_BINARY_TIP = "Top-k does not apply: this model chooses between two values (use the temperature)"
SPEEDS: list[float | None] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, None]  # steps/s; None = unlimited
MAX_SAMPLES = 64


def _media_button(parent: QWidget, text: str, icon: QStyle.StandardPixmap, tip: str) -> QPushButton:
    """A playback button: its label, a standard media icon and a tooltip.

    No shortcut of its own: a button's ``setText`` drops an explicit shortcut (Play becoming Pause
    lost Space); the window's Run menu holds Space and Right.
    """
    button = QPushButton(text)
    button.setIcon(parent.style().standardIcon(icon))
    button.setToolTip(tip)
    return button


def speed_label(rate: float | None) -> str:
    """'20 steps/s' or 'unlimited'."""
    return "unlimited" if rate is None else f"{rate:g} step/s" if rate == 1 else f"{rate:g} steps/s"


class ControlsPanel(QWidget):
    """Emits what the user asks for; shows what the session reports. Decides nothing about runs."""

    checkpoint_chosen = Signal(str)  # a path
    open_requested = Signal()
    settings_changed = Signal(object)  # RunSettings
    rate_changed = Signal(float)  # steps/s; 0 = unlimited
    play_clicked = Signal()  # play or pause, as the session's state says
    step_clicked = Signal()
    reset_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._syncing = False
        self.state = IDLE
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)

        model_box = QGroupBox("Model")
        ml = QVBoxLayout(model_box)
        row = QHBoxLayout()
        self.model_combo = QComboBox()
        self.model_combo.setMinimumContentsLength(18)
        self.model_combo.setToolTip("The shipped checkpoints, your own, and files you opened: pick one to load it")
        self.open_button = QToolButton(text="Open…")
        self.open_button.setToolTip("Open a checkpoint file (.safetensors)")
        row.addWidget(self.model_combo, 1)
        row.addWidget(self.open_button)
        ml.addLayout(row)
        self.model_info = QLabel("No model loaded.")
        self.model_info.setWordWrap(True)
        self.model_info.setTextFormat(Qt.TextFormat.RichText)
        ml.addWidget(self.model_info)
        lay.addWidget(model_box)

        play_box = QGroupBox("Playback")
        pl = QVBoxLayout(play_box)
        buttons = QHBoxLayout()
        media = QStyle.StandardPixmap
        self.play_button = _media_button(self, "Play", media.SP_MediaPlay, "Play, or pause a running run (Space)")
        self.step_button = _media_button(self, "Step", media.SP_MediaSeekForward, "Sample one step (Right arrow)")
        self.reset_button = _media_button(self, "Reset", media.SP_MediaSkipBackward,
                                          "Stop and clear the run; the next Play starts again from step 0")
        for b in (self.play_button, self.step_button, self.reset_button):
            buttons.addWidget(b)
        pl.addLayout(buttons)
        speed_row = QHBoxLayout()
        self.speed_slider = QSlider(Qt.Orientation.Horizontal)
        self.speed_slider.setRange(0, len(SPEEDS) - 1)
        self.speed_slider.setValue(SPEEDS.index(50))
        self.speed_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.speed_slider.setToolTip("Steps per second, from 1 to unlimited (as fast as the model samples)")
        self.speed_label = QLabel(speed_label(50))
        self.speed_label.setMinimumWidth(90)
        speed_row.addWidget(QLabel("Speed"))
        speed_row.addWidget(self.speed_slider, 1)
        speed_row.addWidget(self.speed_label)
        pl.addLayout(speed_row)
        lay.addWidget(play_box)

        samp_box = QGroupBox("Sampling")
        form = self.form = QFormLayout(samp_box)
        self.samples = QSpinBox(minimum=1, maximum=MAX_SAMPLES, value=16)
        self.samples.setToolTip("Number of samples, drawn as a grid")
        seed_row = QHBoxLayout()
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed.setToolTip("Random seed: the same model, seed and settings give the same samples")
        self.dice = QToolButton(text="Random")
        self.dice.setToolTip("A random seed")
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.dice)
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=5.0, singleStep=0.1, value=1.0, decimals=2)
        self.temperature.setSpecialValueText("0 (greedy)")
        self.temperature.setToolTip("Divide the log-probabilities by T before sampling: below 1 sharper, above 1 "
                                    "flatter, 0 always takes the most probable value")
        self.top_k = QSpinBox(minimum=0, maximum=100000, value=0)
        self.top_k.setSpecialValueText("off")
        self.top_k.setToolTip(TOP_K_TIP)
        self.top_p = QDoubleSpinBox(minimum=0.01, maximum=1.0, singleStep=0.05, value=1.0, decimals=2)
        self.top_p.setToolTip("Nucleus sampling: keep the smallest set of values whose mass reaches p (1 = off)")
        self.ordering = QComboBox()
        self.ordering.setToolTip("The order the pixels are sampled in (order-agnostic models have several)")
        form.addRow("Samples", self.samples)
        form.addRow("Seed", seed_row)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-k", self.top_k)
        form.addRow("Top-p", self.top_p)
        form.addRow("Ordering", self.ordering)
        lay.addWidget(samp_box)
        lay.addStretch(1)
        # the one table of the sampling controls: settings, remembering and restoring all go through it
        self.sampling_controls: dict[str, QSpinBox | QDoubleSpinBox] = {
            "samples": self.samples, "seed": self.seed, "temperature": self.temperature, "top_k": self.top_k,
            "top_p": self.top_p}

        self.open_button.clicked.connect(self.open_requested)
        self.model_combo.activated.connect(self._on_model_activated)
        self.play_button.clicked.connect(self.play_clicked)
        self.step_button.clicked.connect(self.step_clicked)
        self.reset_button.clicked.connect(self.reset_clicked)
        self.speed_slider.valueChanged.connect(self._on_speed)
        self.dice.clicked.connect(lambda: self.seed.setValue(random.randrange(0, 100000)))
        for w in self.sampling_controls.values():
            w.valueChanged.connect(self._emit_settings)
        self.ordering.currentIndexChanged.connect(self._emit_settings)
        self.set_state(IDLE)
        self.set_model(None)

    # ---- what the user asks ------------------------------------------------------------------
    def values(self) -> dict[str, float | int]:
        """What the sampling controls show: samples, seed, temperature, top_k, top_p."""
        return {k: w.value() for k, w in self.sampling_controls.items()}

    def set_values(self, values: dict[str, float | int | None]) -> None:
        """Set the sampling controls named in ``values`` (others left as are, out-of-range values clamped), silently."""
        self._syncing = True
        for k, w in self.sampling_controls.items():
            if values.get(k) is not None:
                w.setValue(values[k])  # type: ignore[arg-type]
        self._syncing = False

    def settings(self) -> RunSettings:
        """The run settings the controls show."""
        v = self.values()
        policy = SamplingPolicy(float(v["temperature"]), int(v["top_k"]), float(v["top_p"]))
        return RunSettings(int(v["samples"]), int(v["seed"]), policy, max(0, self.ordering.currentIndex()))

    def rate(self) -> float | None:
        """The speed the slider shows, in steps/s (None = unlimited)."""
        return SPEEDS[self.speed_slider.value()]

    def set_rate(self, rate: float | None) -> None:
        """Move the slider to the nearest speed (emits ``rate_changed``)."""
        if rate is None:
            i = len(SPEEDS) - 1
        else:
            i = min(range(len(SPEEDS) - 1), key=lambda k: abs(SPEEDS[k] - rate))  # type: ignore[operator]
        self.speed_slider.setValue(i)
        self._on_speed(i)

    def _emit_settings(self, *_: object) -> None:
        if not self._syncing:
            self.settings_changed.emit(self.settings())

    def _on_speed(self, i: int) -> None:
        self.speed_label.setText(speed_label(SPEEDS[i]))
        self.rate_changed.emit(float(SPEEDS[i] or 0.0))

    def _on_model_activated(self, i: int) -> None:
        path = self.model_combo.itemData(i)
        if path:
            self.checkpoint_chosen.emit(str(path))

    # ---- what the session reports ------------------------------------------------------------
    def set_catalog(self, entries: list[CatalogEntry], current: str | None = None) -> None:
        """Fill the model picker with the checkpoints found (unreadable ones are listed, disabled)."""
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for e in entries:
            label = f"{e.name}  ({e.meta.kind})" if e.meta else f"{e.name}  (unreadable)"
            self.model_combo.addItem(label, str(e.path))
            if e.error:
                i = self.model_combo.count() - 1
                self.model_combo.setItemData(i, e.error, Qt.ItemDataRole.ToolTipRole)
        if current is not None:
            self.select_path(current)
        self.model_combo.blockSignals(False)

    def select_path(self, path: str) -> None:
        """Show ``path`` as the current model (added to the picker if it is not listed)."""
        i = self.model_combo.findData(str(path))
        if i < 0:
            self.model_combo.addItem(path.rsplit("/", 1)[-1], str(path))
            i = self.model_combo.count() - 1
        self.model_combo.setCurrentIndex(i)

    def set_model(self, info: ModelInfo | None) -> None:
        """Describe the loaded model; show only the choices that apply to it.

        The ordering shows for models with several, top-k is disabled for a support of two values
        (binary pixels: k = 1 is greedy, k >= 2 is off).
        """
        self._syncing = True
        self.ordering.clear()
        if info is None:
            self.model_info.setText("No model loaded. Pick a checkpoint above, or File > Open.")
            self.ordering.addItem("raster")
        else:
            nats, bits = nll_figures(info.meta.metrics, info.spec.layout.modality)
            nll = f"<br>held-out NLL {nats} ({bits})" if nats and bits else ""
            data = info.meta.data.get("name", "?")
            self.model_info.setText(f"<b>{info.meta.kind.upper()}</b> on {data} · {info.parameters:,} parameters"
                                    f"{nll}<br>{info.device}")
            self.ordering.addItems(["raster" if k == 0 else f"ordering {k}" for k in range(info.num_orderings)])
            self.select_path(str(info.path))
        self.ordering.setEnabled(self.ordering.count() > 1)
        self.form.setRowVisible(self.ordering, self.ordering.count() > 1)
        binary = info is not None and info.spec.values.discrete and info.spec.values.n == 2
        self.top_k.setEnabled(not binary)
        self.top_k.setToolTip(TOP_K_BINARY_TIP if binary else TOP_K_TIP)
        self._syncing = False

    def set_batch_planned(self, planned: bool) -> None:
        """Hide the Samples row when the panel decides how many samples a run has (text: one; audio, music:
        the panel's own Samples), so that one control says it."""
        self.form.setRowVisible(self.samples, not planned)

    def remembered(self) -> dict[str, float | int | None]:
        """What the studio keeps for the next session: the sampling controls and the speed."""
        return {**self.values(), "rate": self.rate()}

    def restore(self, values: dict[str, float | int | None]) -> None:
        """Set the controls from a previous session's ``remembered()`` (out-of-range values are clamped)."""
        self.set_values(values)
        if "rate" in values:
            self.set_rate(values["rate"])

    def show_settings(self, s: RunSettings) -> None:
        """Show settings the session changed (e.g. the next seed) without emitting them back."""
        p = s.policy
        self.set_values({"samples": s.batch, "seed": s.seed, "temperature": p.temperature, "top_k": p.top_k,
                         "top_p": p.top_p})
        if 0 <= s.ordering < self.ordering.count():
            self._syncing = True
            self.ordering.setCurrentIndex(s.ordering)
            self._syncing = False

    def set_state(self, state: str) -> None:
        """Play / Pause label and which buttons make sense now."""
        self.state = state
        running = state == RUNNING
        self.play_button.setText("Pause" if running else "Play")
        self.play_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaPause if running else QStyle.StandardPixmap.SP_MediaPlay))
        self.reset_button.setEnabled(state in (RUNNING, PAUSED, FINISHED))


def takes_typing(widget: QObject | None) -> bool:
    """True for a field a person types text into (a prompt, a path), where Space is a character.

    Number fields (spin boxes) are not: a space means nothing there.
    """
    if isinstance(widget, QAbstractSpinBox) or isinstance(getattr(widget, "parent", lambda: None)(), QAbstractSpinBox):
        return False
    if isinstance(widget, QLineEdit):
        return not widget.isReadOnly()
    if isinstance(widget, (QPlainTextEdit, QTextEdit)):
        return not widget.isReadOnly()
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return False


class PlaybackKeys(QObject):
    """Space plays or pauses and Right steps, anywhere in ``window`` (the Run menu's actions).

    A focused number field or list would otherwise keep Space for itself: the widget with the focus
    is watched, and Space is left to the window's shortcut unless that widget ``takes_typing``
    (where Space is a character and Right moves the cursor).
    """

    def __init__(self, window: QWidget, toggle: Callable[[], None], step: Callable[[], None],
                 reset: Callable[[], None]) -> None:
        super().__init__(window)
        self.window = window
        self.play_action = QAction("&Play / pause", window, shortcut=QKeySequence(Qt.Key.Key_Space))
        self.step_action = QAction("&Step once", window, shortcut=QKeySequence(Qt.Key.Key_Right))
        self.reset_action = QAction("&Reset", window)
        for action, slot in ((self.play_action, toggle), (self.step_action, step), (self.reset_action, reset)):
            action.triggered.connect(slot)
            window.addAction(action)  # active while any widget of the window has the focus
        self._watched: QWidget | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus)
            self._on_focus(None, app.focusWidget())

    @property
    def actions(self) -> list[QAction]:
        """Play / pause, step once, reset: for the Run menu."""
        return [self.play_action, self.step_action, self.reset_action]

    def _on_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        if self._watched is not None:
            try:
                self._watched.removeEventFilter(self)
            except RuntimeError:  # already deleted
                pass
            self._watched = None
        if new is not None and new.window() is self.window:
            new.installEventFilter(self)
            self._watched = new

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if (event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent)
                or event.modifiers() != Qt.KeyboardModifier.NoModifier):
            return False
        if event.key() == Qt.Key.Key_Space and not takes_typing(watched):
            event.ignore()  # not the widget's: the window's Space shortcut plays or pauses
            return True
        if event.key() == Qt.Key.Key_Right and takes_typing(watched):
            event.accept()  # the text cursor moves; the model does not step
            return True
        return False
