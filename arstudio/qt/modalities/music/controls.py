"""The Music panel's controls: primer, how many events, samples, Play. Layout only.

What each control means (the run plan it gives, what Play renders) is decided by the panel.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QLabel, QPushButton, QSizePolicy, QSpinBox,
                               QWidget)

DEFAULT_EVENTS = 512
DEFAULT_PRIMER_SECONDS = 10.0
NONE_PRIMER = "none (from silence)"


class MusicControls(QWidget):
    """Two rows of controls above the piano roll."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.primer = QComboBox()
        self.primer.addItem(NONE_PRIMER, None)
        self.primer.setToolTip("Continue a MIDI file: its first seconds are kept as given events, the model goes on")
        self.primer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.primer.setMinimumContentsLength(12)
        self.primer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.primer_open = QPushButton("Open MIDI…")
        self.primer_open.setToolTip("Choose a MIDI file (.mid, .midi) whose beginning the model continues")
        self.primer_seconds = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=600.0, value=DEFAULT_PRIMER_SECONDS,
                                             singleStep=1.0, suffix=" s")
        self.primer_seconds.setToolTip("How much of the primer file to keep (within the model's context)")
        self.primer_seconds.setKeyboardTracking(False)
        self.events = QSpinBox(minimum=1, maximum=1024, value=DEFAULT_EVENTS, singleStep=64)
        self.events.setToolTip("How many events the model writes after the primer (note-ons, note-offs, "
                               "time shifts and velocities)")
        self.events.setKeyboardTracking(False)
        self.samples = QSpinBox(minimum=1, maximum=8, value=1)
        self.samples.setToolTip("Performances written side by side (one is shown and played at a time)")
        self.shown = QSpinBox(minimum=1, maximum=1, value=1)  # counted from 1, as samples are everywhere
        self.shown.setToolTip("Which sample of the batch the roll, the analysis and Play use")
        self.play = QPushButton("▶ Play")
        self.play.setToolTip("Listen to the shown performance (rendered with a General MIDI soundfont when "
                             "fluidsynth is installed, otherwise a simple synthesizer); press again to stop")
        self.play.setEnabled(False)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        grid.addWidget(QLabel("Primer"), 0, 0)
        grid.addWidget(self.primer, 0, 1, 1, 3)
        grid.addWidget(self.primer_open, 0, 4)
        grid.addWidget(self.primer_seconds, 0, 5)
        grid.addWidget(QLabel("Events"), 1, 0)
        grid.addWidget(self.events, 1, 1)
        grid.addWidget(QLabel("Samples"), 1, 2)
        grid.addWidget(self.samples, 1, 3)
        shown = QLabel("Shown")
        grid.addWidget(shown, 1, 4)
        grid.addWidget(self.shown, 1, 5)
        grid.addWidget(self.play, 0, 6, 2, 1)
        grid.setColumnStretch(1, 1)

    def set_primer_item(self, name: str, path: str) -> None:
        """Offer the file at ``path`` as the primer (replacing an earlier one) and choose it."""
        self.primer.blockSignals(True)
        while self.primer.count() > 1:
            self.primer.removeItem(1)
        self.primer.addItem(name, path)
        self.primer.setItemData(1, path, Qt.ItemDataRole.ToolTipRole)
        self.primer.blockSignals(False)
        self.primer.setCurrentIndex(1)

    def clear_primer(self) -> None:
        """Back to no primer file."""
        self.primer.blockSignals(True)
        while self.primer.count() > 1:
            self.primer.removeItem(1)
        self.primer.setCurrentIndex(0)
        self.primer.blockSignals(False)
