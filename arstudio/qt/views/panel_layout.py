"""The layout the sequence panels share: their controls on top, two views in a vertical splitter, a hint line."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget


def controls_over_views(panel: QWidget, controls: QWidget, top: QWidget, bottom: QWidget,
                        sizes: tuple[int, int]) -> QLabel:
    """Lay ``panel`` out as controls, ``top`` over ``bottom`` (split at ``sizes``) and a hint; returns the hint."""
    hint = QLabel("")
    hint.setWordWrap(True)
    hint.setTextFormat(Qt.TextFormat.PlainText)
    split = QSplitter(Qt.Orientation.Vertical)
    split.addWidget(top)
    split.addWidget(bottom)
    split.setSizes(list(sizes))
    lay = QVBoxLayout(panel)
    lay.setContentsMargins(4, 4, 4, 4)
    lay.addWidget(controls)
    lay.addWidget(split, 1)
    lay.addWidget(hint)
    return hint
