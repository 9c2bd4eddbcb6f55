"""The text panel's widgets and their arrangement: layout and styling only (the panel decides what they do)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QScrollArea, QSpinBox,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from arstudio.data.tokenizers import EOT
from arstudio.qt.modalities.text.attention import AttentionView
from arstudio.qt.modalities.text.lists import AlternativesList, BeamList, BranchTree
from arstudio.qt.modalities.text.tokens import TokenView, prob_to_unit, ramp_colour

DEFAULT_TOKENS = 80
ALTERNATIVES_WIDTH = 180  # the alternatives column's width to start with: the text takes the rest
TABS_SHARE = 38  # percent of the height below the prompt that the tabs (beams, attention, scores) start with
HOVER_HINT = "Hover a token to see the alternatives it was drawn from"


class _Split(QSplitter):
    """A splitter that shares its space by ``share(total) -> sizes`` on every resize until the user drags it."""

    def __init__(self, orientation: Qt.Orientation, share: Callable[[int], list[int]]) -> None:
        super().__init__(orientation)
        self._share = share
        self.dragged = False
        self.splitterMoved.connect(self._on_moved)
        self.setChildrenCollapsible(False)

    def _on_moved(self, *_: object) -> None:
        self.dragged = True

    def resizeEvent(self, ev: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(ev)
        if not self.dragged:
            total = self.width() if self.orientation() == Qt.Orientation.Horizontal else self.height()
            self.blockSignals(True)
            self.setSizes(self._share(total - self.handleWidth() * (self.count() - 1)))
            self.blockSignals(False)


class _Narrow(QWidget):
    """A container that asks for ``width`` pixels, so that a splitter gives the rest to its neighbour."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self._width = width
        self.setMinimumWidth(width * 2 // 3)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(self._width, super().sizeHint().height())


def _scroll(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    return area


def build_text_widgets(panel: QWidget) -> None:
    """Create the prompt row, token view, alternatives, tabs (branches, beams, attention, scoring) on ``panel``."""
    panel.prompt = QPlainTextEdit()
    panel.prompt.setPlaceholderText("Prompt (empty: start from the beginning-of-text token)")
    panel.prompt.setFixedHeight(3 * panel.prompt.fontMetrics().lineSpacing() + 14)
    panel.prompt.setToolTip("The text the model continues; its tokens are kept as given (shown underlined)")
    panel.new_tokens = QSpinBox(minimum=1, maximum=100000, value=DEFAULT_TOKENS)
    panel.new_tokens.setToolTip("How many tokens to write after the prompt")
    panel.stop_at_end = QCheckBox(f"stop at {EOT}")
    panel.stop_at_end.setToolTip("End the run early when the model writes its end-of-text token")
    panel.generate_button = QPushButton("Generate")
    panel.generate_button.setToolTip("Write a continuation of the prompt (the controls set temperature, "
                                    "top-k, top-p, seed and speed; temperature 0 is greedy)")
    row = QHBoxLayout()
    for w in (QLabel("New tokens"), panel.new_tokens, panel.stop_at_end):
        row.addWidget(w)
    row.addStretch(1)
    row.addWidget(panel.generate_button)
    panel.hint = QLabel("")
    panel.hint.setWordWrap(True)
    panel.tokens_view = TokenView()
    panel.tokens_view.setToolTip("Each token is coloured by the probability it had: red unlikely, green likely. "
                                "Hover for the alternatives; click to keep them shown.")
    panel.alt_caption = QLabel(HOVER_HINT)
    panel.alt_caption.setWordWrap(True)
    panel.alternatives = AlternativesList()
    legend = QLabel("colour: p of the token<br>" + "".join(
        f'<span style="background-color:{ramp_colour(prob_to_unit(p)).name()}">&nbsp;{t}&nbsp;</span>'
        for p, t in ((1e-4, "10⁻⁴"), (1e-2, "0.01"), (0.1, "0.1"), (1.0, "1"))))
    legend.setTextFormat(Qt.TextFormat.RichText)
    panel.tokens_scroll = _scroll(panel.tokens_view)
    right = _Narrow(ALTERNATIVES_WIDTH)
    rl = QVBoxLayout(right)
    rl.setContentsMargins(0, 0, 0, 0)
    rl.addWidget(panel.alt_caption)
    rl.addWidget(panel.alternatives, 1)
    rl.addWidget(legend)
    # the text, and beside it the alternatives (narrow)
    panel.text_split = _Split(Qt.Orientation.Horizontal, lambda n: [max(n - ALTERNATIVES_WIDTH, 0), ALTERNATIVES_WIDTH])
    panel.text_split.addWidget(panel.tokens_scroll)
    panel.text_split.addWidget(right)
    panel.text_split.setStretchFactor(0, 1)  # after a drag, a resize goes to the text
    panel.text_split.setStretchFactor(1, 0)

    panel.tree = BranchTree()
    panel.tree.setToolTip("Every run and branch of this prompt: a branch hangs under the run it was cut from. "
                          "Select one to show its text")
    panel.beam_k = QSpinBox(minimum=1, maximum=32, value=5)
    panel.beam_k.setToolTip("Beam width: how many partial continuations are kept at each step")
    panel.beam_len = QSpinBox(minimum=1, maximum=256, value=12)
    panel.beam_len.setToolTip("How many tokens each beam continuation writes")
    panel.beam_button = QPushButton("Search")
    panel.beam_button.setToolTip("Beam search from the prompt: the K most likely continuations, by total log p")
    panel.beam_list = BeamList()
    beam_tab = QWidget()
    bl = QVBoxLayout(beam_tab)
    brow = QHBoxLayout()
    for w in (QLabel("K"), panel.beam_k, QLabel("tokens"), panel.beam_len, panel.beam_button):
        brow.addWidget(w)
    brow.addStretch(1)
    bl.addLayout(brow)
    bl.addWidget(panel.beam_list, 1)
    panel.attention = AttentionView()
    panel.score_box = QPlainTextEdit()
    panel.score_box.setPlaceholderText("Paste text to score (teacher forcing: log p of each token given those before)")
    panel.score_box.setToolTip("Text to score under the model, token by token")
    panel.score_button = QPushButton("Score")
    panel.score_button.setToolTip("Teacher-force the model on the text: each token's log p, the total and bits/char")
    panel.score_summary = QLabel("")
    panel.score_summary.setWordWrap(True)
    panel.score_view = TokenView()
    panel.score_view.setToolTip("Surprisal of each token: red = surprising, green = expected")
    score_tab = QSplitter(Qt.Orientation.Horizontal)
    left = QWidget()
    sl = QVBoxLayout(left)
    sl.setContentsMargins(0, 0, 0, 0)
    sl.addWidget(panel.score_box, 1)
    sl.addWidget(panel.score_button)
    sl.addWidget(panel.score_summary)
    score_tab.addWidget(left)
    score_tab.addWidget(_scroll(panel.score_view))
    panel.tabs = QTabWidget()
    panel.tabs.addTab(panel.tree, "Branches")
    panel.tabs.addTab(beam_tab, "Beam search")
    panel.tabs.addTab(panel.attention, "Attention")
    panel.tabs.addTab(score_tab, "Score text")

    # the text above (the larger part), the tabs below
    panel.body_split = _Split(Qt.Orientation.Vertical, lambda n: [n - n * TABS_SHARE // 100, n * TABS_SHARE // 100])
    panel.body_split.addWidget(panel.text_split)
    panel.body_split.addWidget(panel.tabs)
    panel.body_split.setStretchFactor(0, 1)
    panel.body_split.setStretchFactor(1, 0)
    lay = QVBoxLayout(panel)
    lay.setContentsMargins(4, 4, 4, 4)
    lay.addWidget(panel.prompt)
    lay.addLayout(row)
    lay.addWidget(panel.hint)
    lay.addWidget(panel.body_split, 1)
