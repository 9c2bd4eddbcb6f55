"""The text panel's widgets and their arrangement: layout and styling only (the panel decides what they do)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QScrollArea, QSpinBox,
                               QSplitter, QTabWidget, QVBoxLayout, QWidget)

from arstudio.data.tokenizers import EOT
from arstudio.qt.modalities.text.attention import AttentionView
from arstudio.qt.modalities.text.lists import AlternativesList, BeamList, BranchTree
from arstudio.qt.modalities.text.tokens import TokenView, prob_to_unit, ramp_colour

DEFAULT_TOKENS = 80


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
    panel.alt_caption = QLabel("Hover a token")
    panel.alt_caption.setWordWrap(True)
    panel.alternatives = AlternativesList()
    legend = QLabel("colour: p of the token &nbsp;" + "".join(
        f'<span style="background-color:{ramp_colour(prob_to_unit(p)).name()}">&nbsp;{t}&nbsp;</span>'
        for p, t in ((1e-4, "10⁻⁴"), (1e-2, "0.01"), (0.1, "0.1"), (1.0, "1"))))
    legend.setTextFormat(Qt.TextFormat.RichText)
    right = QWidget()
    rl = QVBoxLayout(right)
    rl.setContentsMargins(0, 0, 0, 0)
    rl.addWidget(panel.alt_caption)
    rl.addWidget(panel.alternatives, 1)
    rl.addWidget(legend)
    split = QSplitter(Qt.Orientation.Horizontal)
    panel.tokens_scroll = _scroll(panel.tokens_view)
    split.addWidget(panel.tokens_scroll)
    split.addWidget(right)
    split.setSizes([520, 200])

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

    body = QSplitter(Qt.Orientation.Vertical)
    body.addWidget(split)
    body.addWidget(panel.tabs)
    body.setSizes([340, 240])
    lay = QVBoxLayout(panel)
    lay.setContentsMargins(4, 4, 4, 4)
    lay.addWidget(panel.prompt)
    lay.addLayout(row)
    lay.addWidget(panel.hint)
    lay.addWidget(body, 1)
