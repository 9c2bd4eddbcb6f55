"""Every control of the studio says what it does (issue 5: tooltips on every control)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSlider, QAbstractSpinBox, QComboBox,
                               QDockWidget, QHeaderView, QLineEdit, QMenuBar, QPlainTextEdit, QScrollBar, QTabBar,
                               QTextEdit, QWidget)

from tests.qt.test_text_panel import tiny_text_checkpoint

CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox, QAbstractSlider, QLineEdit, QPlainTextEdit, QTextEdit,
            QAbstractItemView)


def untipped(root: QWidget) -> list[str]:
    """Controls under ``root`` without a tooltip; Qt's own parts (scroll bars, headers, popups, tab arrows) aside."""
    out = []
    for w in root.findChildren(QWidget):
        if not isinstance(w, CONTROLS) or w.toolTip() or isinstance(w, (QScrollBar, QHeaderView)):
            continue
        parent = w.parentWidget()
        if isinstance(parent, (QTabBar, QDockWidget, QMenuBar)) or type(parent).__name__ == "QFrame":  # Qt's arrows, popups
            continue
        if isinstance(w, QLineEdit) and isinstance(parent, (QAbstractSpinBox, QComboBox)):  # the box's own editor
            continue
        if isinstance(w, QAbstractButton) and isinstance(parent, QAbstractItemView):  # a table's corner button
            continue
        text = w.text() if hasattr(w, "text") else ""
        out.append(f"{type(w).__name__} {text!r} in {type(parent).__name__}")
    return out


@pytest.mark.parametrize("which", ["nade", "made", "text"])
def test_every_control_has_a_tooltip(studio, checkpoints, tmp_path, which) -> None:
    path = tiny_text_checkpoint(tmp_path) if which == "text" else checkpoints[which]
    w = studio(path)
    assert w.panel is not None
    assert untipped(w) == []
    assert untipped(w.show_train_dialog()) == []
    assert untipped(w.show_compare()) == []
