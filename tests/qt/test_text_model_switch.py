"""The text panel is kept from one text model to the next: nothing of the previous model or run may stay shown."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from arstudio.qt.modalities.text.layout import HOVER_HINT
from arstudio.qt.modalities.text.lists import quoted
from tests.qt.test_text_panel import run_prompt, tiny_text_checkpoint


@pytest.fixture(scope="module")
def text_ckpt(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("text-switch")
    return {"gpt": tiny_text_checkpoint(d, "gpt"), "char_rnn": tiny_text_checkpoint(d, "char_rnn")}


def open_model(w, qtbot, path) -> None:
    w.open_checkpoint(path)
    qtbot.waitUntil(lambda: w.panel.info is not None and w.panel.info.path == path and w.session.model is not None
                    and w.session.model.path == path, timeout=20000)


def test_switching_models_forgets_pins_scores_beams_and_attention(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], seed=1)
    panel = w.panel
    run_prompt(w, qtbot, wait_finished, "ab", 8)
    panel.tokens_view.token_clicked.emit(4)  # pin the alternatives of step 4
    assert panel.pinned == 4 and panel.alternatives.count() > 0 and "pinned" in panel.alt_caption.text()
    panel.score_box.setPlainText("abc de")
    panel.score()
    qtbot.waitUntil(lambda: panel.scored is not None, timeout=20000)
    panel.beam_k.setValue(2)
    panel.beam_len.setValue(2)
    panel.search_beams()
    qtbot.waitUntil(lambda: panel.beam_list.count() == 2, timeout=20000)
    panel.tabs.setCurrentWidget(panel.attention)
    qtbot.waitUntil(lambda: panel.attention.weights is not None, timeout=20000)

    open_model(w, qtbot, text_ckpt["char_rnn"])
    assert w.panel is panel  # the same panel, reused
    assert panel.pinned == -1 and panel.alternatives.count() == 0 and panel.alternatives.step == -1
    assert panel.alt_caption.text() == HOVER_HINT
    assert panel.scored is None and panel.score_view.tokens == [] and "bits" not in panel.score_summary.text()
    assert panel.beams == [] and panel.beam_list.count() == 0
    assert panel.nodes == {} and panel.tree.nodes() == [] and panel.tokens_view.tokens == []
    att = panel.attention
    assert att.weights is None and att.image.image is None and not att.colour_bar.isVisible()
    assert not att._lines and not att.plot.getAxis("left")._tickLevels[0]
    # the char-RNN's own run: its attention tab says it has none, over an empty grid
    run_prompt(w, qtbot, wait_finished, "a", 4)
    qtbot.waitUntil(lambda: "no attention" in att.caption.text(), timeout=20000)
    assert att.weights is None and att.image.image is None and not att.plot.getAxis("bottom")._tickLevels[0]
    w.close()


def test_answers_asked_of_the_previous_model_are_dropped(studio, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"])
    analysis, got = w.panel.analysis, []
    analysis.computed.connect(got.append)
    analysis.request("attention", tokens=np.asarray([1, 2, 3]), step=2)  # asked of GPT ...
    analysis.load(str(text_ckpt["char_rnn"]))  # ... which is replaced before the answer is shown
    analysis.request("score", text="ab")
    qtbot.waitUntil(lambda: any(r.kind == "score" for r in got), timeout=20000)
    assert [r.kind for r in got] == ["score"]
    w.close()



def finished_after(w, qtbot, wait_finished, old):
    """Wait for a run other than ``old`` (a record, or None) to finish and be drawn."""
    qtbot.waitUntil(lambda: w.session.record is not old and w.session.state == "finished", timeout=20000)
    wait_finished(w)


def test_a_new_run_forgets_the_pinned_alternatives(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], seed=2)
    panel = w.panel
    run_prompt(w, qtbot, wait_finished, "ab", 8)
    first = w.session.record
    panel.tokens_view.token_clicked.emit(3)
    assert panel.pinned == 3 and panel.alternatives.count() > 0
    panel.generate_button.click()
    finished_after(w, qtbot, wait_finished, first)
    assert len(panel.nodes) == 2 and panel.shown == 1
    assert panel.pinned == -1 and panel.alternatives.count() == 0 and panel.alt_caption.text() == HOVER_HINT
    w.close()


def test_choosing_a_beam_twice_selects_its_branch(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], seed=3)
    w.show()
    panel = w.panel
    panel.prompt.setPlainText("ab")
    panel.new_tokens.setValue(6)
    panel.beam_k.setValue(3)
    panel.beam_len.setValue(2)
    panel.search_beams()
    qtbot.waitUntil(lambda: panel.beam_list.count() == 3, timeout=20000)
    panel.tabs.setCurrentIndex(1)
    item = panel.beam_list.item(1)
    qtbot.mouseDClick(panel.beam_list.viewport(), Qt.MouseButton.LeftButton,
                      pos=panel.beam_list.visualItemRect(item).center())
    panel.beam_list.beam_chosen.emit(1)  # and once more while its run is on its way
    finished_after(w, qtbot, wait_finished, None)
    assert len(panel.nodes) == 1 and panel.tree.nodes() == [0]
    beam_run = w.session.record
    panel.generate_button.click()  # another run is shown; choosing the beam again shows its branch
    finished_after(w, qtbot, wait_finished, beam_run)
    assert panel.shown == 1
    panel.beam_list.beam_chosen.emit(1)
    assert panel.shown == 0 and len(panel.nodes) == 2 and panel._pending is None
    assert "".join(panel.tokens_view.tokens) == panel.tok.decode(panel._ids(beam_run))
    w.close()


def test_choosing_an_alternative_twice_adds_one_branch(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], seed=4)
    panel = w.panel
    run_prompt(w, qtbot, wait_finished, "ab", 8)
    first = w.session.record
    panel.tokens_view.token_hovered.emit(4)
    alt = next(v for v in panel.alternatives.values() if v != panel._ids(first)[4])
    panel.alternatives.choose(alt)
    panel.alternatives.choose(alt)  # a double click
    finished_after(w, qtbot, wait_finished, first)
    assert len(panel.nodes) == 2
    panel.tree.node_selected.emit(0)
    panel.tokens_view.token_hovered.emit(4)
    panel.alternatives.choose(alt)  # the same branch of the same run, later: selected, not run again
    assert panel.shown == 1 and len(panel.nodes) == 2
    w.close()


def test_the_token_tooltip_is_one_short_line(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], seed=5)
    panel = w.panel
    run_prompt(w, qtbot, wait_finished, "ab", 6)
    rec = w.session.record
    tip = panel.tokens_view.tooltip_at(panel.tokens_view.box(4).center())
    p = float(np.exp(rec.log_prob[4, 0]))
    assert tip == panel.token_tip(4) == f"{quoted(panel.labels[panel._ids(rec)[4]])} · p = {p:.3f} · step 4"
    panel.tokens_view.token_hovered.emit(4)  # the alternatives go to their panel, not to the tooltip
    assert panel.alternatives.count() > 1 and panel.tokens_view.tooltip_at(panel.tokens_view.box(4).center()) == tip
    w.close()
