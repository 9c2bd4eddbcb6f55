"""Controls that do not apply to the loaded model are hidden or disabled; one Samples control per model."""

from __future__ import annotations

from tests.qt.test_music_studio import tiny_music_checkpoint
from tests.qt.test_text_panel import tiny_text_checkpoint


def shown(widget, window) -> bool:
    return widget.isVisibleTo(window)


def test_binary_models_have_no_top_k_and_one_ordering_no_ordering_row(studio, checkpoints) -> None:
    w = studio(checkpoints["nade"])
    c = w.controls
    assert not c.top_k.isEnabled() and "two values" in c.top_k.toolTip()
    assert not shown(c.ordering, c) and shown(c.samples, c)


def test_several_orderings_show_the_ordering_row(studio, checkpoints, qtbot) -> None:
    w = studio(checkpoints["made"])
    c = w.controls
    assert shown(c.ordering, c) and c.ordering.count() == 3
    w.open_checkpoint(checkpoints["fvsbn"])
    qtbot.waitUntil(lambda: w.session.model.spec.kind == "fvsbn", timeout=20000)
    assert not shown(c.ordering, c)


def test_text_models_have_no_samples_or_ordering_but_top_k(studio, checkpoints, tmp_path, qtbot) -> None:
    w = studio(tiny_text_checkpoint(tmp_path, "char_rnn"))
    c = w.controls
    assert not shown(c.samples, c) and not shown(c.ordering, c)
    assert c.top_k.isEnabled()
    w.open_checkpoint(checkpoints["nade"])  # back to images: the grid's size is asked again
    qtbot.waitUntil(lambda: w.session.model.spec.kind == "nade", timeout=20000)
    assert shown(c.samples, c)


def test_music_has_one_samples_control_the_panels(studio, tmp_path) -> None:
    w = studio(tiny_music_checkpoint(tmp_path))
    c = w.controls
    assert not shown(c.samples, c)
    assert shown(w.panel.controls.samples, w)
    w.panel.controls.samples.setValue(2)
    assert w.session.plan.batch == 2  # the panel's Samples decides
