"""The pixel panel's likelihood tab: an image to draw on or load, its NLL heatmap, and the held-out histogram.

Layout and widgets only; the panel connects the buttons and decides what they do.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSpinBox, QSplitter, QToolButton, QVBoxLayout,
                               QWidget)

from arstudio.qt.modalities.image.editor import ImageEditor
from arstudio.qt.modalities.image.likelihood_plots import HeatmapView, ScoreHistogram

CAPTION = "Draw here, or load a PNG"


class LikelihoodView(QWidget):
    """Buttons over an editor | heatmap pair, the histogram below, then "complete from here" and export."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.load_button = QPushButton("Load PNG…")
        self.load_button.setToolTip("Score an image file: it is converted to the model's size, channels and levels")
        self.sample_button = QToolButton(text="Use sample")
        self.sample_button.setToolTip("Copy a sample of the Samples tab here: the enlarged one, else the one last "
                                      "clicked (the first if none)")
        self.clear_button = QToolButton(text="Clear")
        self.clear_button.setToolTip("Erase the drawing (and its heatmap)")
        self.ink = QSpinBox(minimum=0, maximum=1, value=1)
        self.ink.setToolTip("The value the left mouse button paints (the right button paints 0)")
        top = QHBoxLayout()
        for w in (self.load_button, self.sample_button, self.clear_button):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(QLabel("Ink"))
        top.addWidget(self.ink)

        self.editor = ImageEditor()
        self.heatmap = HeatmapView()
        pair = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.image_caption = QLabel(CAPTION)
        self.image_caption.setFixedHeight(2 * self.image_caption.fontMetrics().lineSpacing() + 4)
        self.image_caption.setWordWrap(True)
        ll.addWidget(self.image_caption)
        ll.addWidget(self.editor, 1)
        pair.addWidget(left)
        pair.addWidget(self.heatmap)
        pair.setSizes([1, 1])
        self.histogram = ScoreHistogram()

        self.keep_rows = QSpinBox(minimum=1, maximum=1, value=1)
        self.keep_rows.setToolTip("How many rows from the top are kept exactly; the model samples the rest")
        self.complete_button = QPushButton("Complete from here")
        self.complete_button.setToolTip("Keep the top rows of this image and sample the rest, on the Samples tab")
        self.export_button = QPushButton("Export heatmap…")
        self.export_button.setToolTip("Save the per-pixel NLL heatmap as a PNG")
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("Keep rows"))
        bottom.addWidget(self.keep_rows)
        bottom.addWidget(self.complete_button)
        bottom.addStretch(1)
        bottom.addWidget(self.export_button)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.RichText)
        self.notes.setFixedHeight(2 * self.notes.fontMetrics().lineSpacing() + 4)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.addLayout(top)
        pair.setMinimumHeight(180)
        self.histogram.setMaximumHeight(220)
        lay.addWidget(pair, 5)
        lay.addWidget(self.histogram, 2)
        lay.addLayout(bottom)
        lay.addWidget(self.notes)
