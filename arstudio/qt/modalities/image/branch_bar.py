"""The image panel's branch bar and legend: "Back", the list of runs, and what the marks on the samples mean.

Widgets and text only; the panel decides what choosing a branch does.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from arstudio.modalities.image.branches import Branch, BranchHistory
from arstudio.qt.views import theme

KEPT = "#4f8fe0"  # values a branch took over unchanged (its kept prefix, or given pixels)
KEPT_TINT = 0.22  # how much of KEPT is blended into a kept pixel (enough to tell, not enough to hide)


def branch_text(b: Branch) -> str:
    """One line for the list: number, what made it, and the branch it came from."""
    parent = f" (from {b.parent + 1})" if b.parent is not None else ""
    return f"{b.id + 1}. {b.label}{parent}"


def legend_html(b: Branch | None, describe: Callable[[int, int], str]) -> str:
    """The legend of a branch's marks ("" when it has none); ``describe(step, sample)`` names a forced value."""
    if b is None or not b.marked():
        return ""
    parts = []
    if b.kept.any():
        parts.append(f"<span style='color:{KEPT}'>■</span> {'kept' if b.forced.any() else 'given'}")
    places = b.forced_places()
    if places:
        more = f" (+{len(places) - 1})" if len(places) > 1 else ""
        parts.append(f"<span style='color:{theme.FORCED}'>▢</span> forced {describe(*places[0])}{more}")
    parts.append("rest generated")
    return " · ".join(parts)


def legend_tip(b: Branch | None) -> str:
    """What the legend's words mean, at length."""
    if b is None or not b.marked():
        return ""
    return ("Blue tint: values this run took over unchanged, in every sample (the earlier run's prefix, or the "
            "image given to \"complete from here\"). Red ring: the value you forced, on its sample. "
            "The rest was sampled after them. \"Back\" returns to the earlier run.")


class BranchBar(QWidget):
    """A Back button and the runs to go back to."""

    branch_chosen = Signal(int)  # a branch id
    back_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_button = QToolButton(text="◀ Back")
        self.back_button.setToolTip("Go back to the run this one branched from (or the run before it): its samples "
                                    "come back, live, so you can force another value there")
        self.combo = QComboBox()
        self.combo.setToolTip("Every run shown since the model was loaded; forcing a value or completing an image "
                              "makes a branch of the run shown. Choose one to go back to it.")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(18)
        self.combo.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.back_button)
        lay.addWidget(QLabel("Run"))
        lay.addWidget(self.combo, 1)
        self.back_button.clicked.connect(self.back_clicked)
        self.combo.activated.connect(self._on_activated)
        self.back_button.setEnabled(False)

    def show_history(self, history: BranchHistory) -> None:
        """List the branches, the shown one selected; Back enabled when it has somewhere to go."""
        self.combo.blockSignals(True)
        self.combo.clear()
        for b in history.branches.values():
            self.combo.addItem(branch_text(b), b.id)
        self.combo.setCurrentIndex(self.combo.findData(history.shown) if history.shown is not None else -1)
        self.combo.blockSignals(False)
        self.combo.setEnabled(self.combo.count() > 0)
        self.back_button.setEnabled(history.back_target() is not None)

    def _on_activated(self, index: int) -> None:
        bid = self.combo.itemData(index)
        if bid is not None:
            self.branch_chosen.emit(int(bid))


def legend_label() -> QLabel:
    """The label the legend is written in (hidden while there is nothing to explain)."""
    label = QLabel("")
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    label.setMinimumWidth(1)  # as wide as its text where there is room, clipped where there is not
    label.hide()
    return label
