"""Keyboard in the studio: Space plays and pauses wherever the focus is, except in a text field; a replay adds one run."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.qt.test_text_panel import run_prompt, tiny_text_checkpoint


def press(qtbot, w, key=Qt.Key.Key_Space) -> None:
    """A key pressed as a person presses it: to whichever widget has the focus."""
    qtbot.keyClick(QApplication.focusWidget() or w, key)


def shown(qtbot, w) -> None:
    """The window on screen and active, as a person uses it."""
    w.show()
    w.activateWindow()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=20000)


def focus(qtbot, widget) -> None:
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=20000)


def toggles(qtbot, w) -> None:
    """Space plays, then pauses."""
    press(qtbot, w)
    qtbot.waitUntil(lambda: w.session.state == "running", timeout=20000)
    press(qtbot, w)
    qtbot.waitUntil(lambda: w.session.state == "paused", timeout=20000)


def test_space_plays_and_pauses_after_a_number_field_and_a_click_elsewhere(studio, qtbot, checkpoints):
    w = studio(checkpoints["nade"], rate=2)
    shown(qtbot, w)
    focus(qtbot, w.controls.samples)  # a sampling field touched
    toggles(qtbot, w)  # Space in a number field is the studio's
    toggles(qtbot, w)  # and again: Play turning into Pause does not lose the shortcut
    qtbot.mouseClick(w.controls.model_info, Qt.MouseButton.LeftButton)  # a click on empty space (a label)
    assert not w.controls.samples.hasFocus()
    toggles(qtbot, w)
    focus(qtbot, w.controls.seed)
    plot = w.dist.findChild(pg.GraphicsView)
    qtbot.mouseClick(plot, Qt.MouseButton.LeftButton, pos=plot.rect().center())  # a click on a plot
    toggles(qtbot, w)
    qtbot.waitUntil(lambda: w.session.record is not None, timeout=20000)
    filled = w.session.record.filled
    press(qtbot, w, Qt.Key.Key_Right)  # Right still steps
    qtbot.waitUntil(lambda: w.session.record.filled == filled + 1, timeout=20000)
    assert [a.shortcut().toString() for a in w.keys.actions[:2]] == ["Space", "Right"]


def test_space_types_in_the_prompt(studio, qtbot, tmp_path):
    w = studio(tiny_text_checkpoint(tmp_path, "gpt"))
    shown(qtbot, w)
    focus(qtbot, w.panel.prompt)
    qtbot.keyClicks(w.panel.prompt, "ab")
    press(qtbot, w)
    qtbot.keyClicks(w.panel.prompt, "c")
    assert w.panel.prompt.toPlainText() == "ab c"
    press(qtbot, w, Qt.Key.Key_Left)
    press(qtbot, w, Qt.Key.Key_Right)  # moves the cursor, does not step
    qtbot.keyClicks(w.panel.prompt, "d")
    assert w.panel.prompt.toPlainText() == "ab cd"
    assert w.session.state == "idle" and w.session.record is None


def test_replaying_an_export_adds_one_run_and_space_plays_it(studio, wait_finished, qtbot, tmp_path, monkeypatch):
    ckpt = tiny_text_checkpoint(tmp_path, "gpt")
    w = studio(ckpt, seed=6)
    shown(qtbot, w)
    focus(qtbot, w.panel.generate_button)  # as after clicking Generate
    run_prompt(w, qtbot, wait_finished, "ab", 9)
    out = w.export_to(tmp_path / "run.json")
    w.controls.set_rate(2)
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(tmp_path))
    before = len(w.panel.nodes)
    assert w.replayer.open(out)
    qtbot.waitUntil(lambda: w.session.state == "paused" and w.session.record is not None, timeout=20000)
    replay, said = w.session.record, w.statusBar().currentMessage()
    toggles(qtbot, w)  # "Press Space to play": the replay plays and pauses; Generate is not clicked
    press(qtbot, w)
    qtbot.waitUntil(lambda: w.session.state == "running", timeout=20000)
    assert w.session.record is replay
    w._redraw.flush()  # the frame that draws the run into the tree
    assert len(w.panel.nodes) == before + 1
    assert "1 sample," in said  # not "1 samples"
