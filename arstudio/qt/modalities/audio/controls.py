"""The Audio panel's controls: voice, conditioning source, primer, length, samples, Play. Layout only.

What each control means (the condition and the run plan it gives) is decided by the panel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QSpinBox, QWidget)

DEFAULT_SECONDS = 2.0
DEFAULT_PRIMER_SECONDS = 0.5
NONE_CONDITION = "none (babble)"
NONE_PRIMER = "none (from silence)"


def _seconds(value: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox(decimals=2, minimum=0.01, maximum=10.0, value=value, singleStep=0.25, suffix=" s")
    box.setToolTip(tip)
    box.setKeyboardTracking(False)  # a plan per value typed, not per keystroke
    return box


class AudioControls(QWidget):
    """Two rows of controls above the waveform, and a one-line note under them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.voice = QComboBox()
        self.voice.setToolTip("Global conditioning: the voice the model speaks in (none: the model's own mix)")
        self.voice.addItem("none", None)
        self.length = _seconds(DEFAULT_SECONDS, "How long the run is, in seconds, the primer included "
                                                "(a conditioning file sets it to its own length)")
        self.samples = QSpinBox(minimum=1, maximum=8, value=1)
        self.samples.setToolTip("Samples written side by side (one is shown and played at a time)")
        self.shown = QSpinBox(minimum=1, maximum=1, value=1)  # counted from 1, as samples are everywhere
        self.shown.setToolTip("Which sample of the batch the waveform, spectrogram and Play use")
        self.condition = QComboBox()
        self.condition.addItem(NONE_CONDITION, None)
        self.condition.setToolTip("Local conditioning: none (the model babbles), or the log-mel of an audio file "
                                  "(the model resynthesizes it: vocoder use)")
        self.condition_open = QPushButton("Open…")
        self.condition_open.setToolTip("Choose an audio file (WAV, FLAC, OGG ...) whose log-mel the model follows")
        self.primer = QComboBox()
        self.primer.addItem(NONE_PRIMER, None)
        self.primer.setToolTip("Continue from the first part of an audio file (its samples are kept as given)")
        self.primer_open = QPushButton("Open…")
        self.primer_open.setToolTip("Choose an audio file whose beginning the model continues")
        self.primer_seconds = _seconds(DEFAULT_PRIMER_SECONDS, "How much of the primer file to keep")
        self.play = QPushButton("▶ Play")
        self.play.setToolTip("Listen to the shown sample at the model's rate (press again to stop)")
        self.play.setEnabled(False)
        for combo in (self.voice, self.condition, self.primer):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.voice_label, self.condition_label = QLabel("Voice"), QLabel("Condition")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        grid.addWidget(self.voice_label, 0, 0)
        grid.addWidget(self.voice, 0, 1)
        grid.addWidget(QLabel("Length"), 0, 2, alignment=Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.length, 0, 3)
        grid.addWidget(self.condition_label, 1, 0)
        grid.addWidget(self.condition, 1, 1)
        grid.addWidget(self.condition_open, 1, 2)
        grid.addWidget(QLabel("Primer"), 2, 0)
        grid.addWidget(self.primer, 2, 1)
        grid.addWidget(self.primer_open, 2, 2)
        first = QHBoxLayout()
        first.setSpacing(4)
        first.addWidget(QLabel("first"))
        first.addWidget(self.primer_seconds, 1)
        grid.addLayout(first, 2, 3)
        bottom = QHBoxLayout()
        bottom.setSpacing(6)
        bottom.addWidget(QLabel("Samples"))
        bottom.addWidget(self.samples)
        bottom.addWidget(QLabel("Shown"))
        bottom.addWidget(self.shown)
        bottom.addStretch(1)
        bottom.addWidget(self.play)
        grid.addLayout(bottom, 3, 0, 1, 4)
        grid.setColumnStretch(1, 1)

    def set_file_item(self, combo: QComboBox, text: str, path: str) -> None:
        """Make ``text`` (a file at ``path``) the combo's one file entry and choose it."""
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        combo.addItem(text, path)
        combo.setItemData(1, path, Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(1)
        combo.blockSignals(False)

    def clear_file_item(self, combo: QComboBox) -> None:
        """Back to the combo's "none" entry, the file entry removed."""
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        combo.setCurrentIndex(0)
        combo.blockSignals(False)
