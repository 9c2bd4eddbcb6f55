"""The text panel gives its room to the generated text: the alternatives beside it narrow, the tabs below smaller."""

from __future__ import annotations

import pytest

from tests.qt.test_text_panel import tiny_text_checkpoint


@pytest.fixture(scope="module")
def gpt_ckpt(tmp_path_factory: pytest.TempPathFactory):
    return tiny_text_checkpoint(tmp_path_factory.mktemp("text-layout"), "gpt")


def area(widget) -> int:
    return widget.width() * widget.height()


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1000)])
def test_the_text_is_the_largest_thing_in_the_panel(studio, gpt_ckpt, qtbot, size):
    w = studio(gpt_ckpt)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    panel = w.panel
    text, alts = panel.tokens_scroll, panel.alternatives.parentWidget()
    chars = lambda: text.viewport().width() // panel.tokens_view.fontMetrics().horizontalAdvance("x")  # noqa: E731

    def text_first() -> bool:  # once the window's layout has settled
        return (text.width() >= 2 * alts.width() and area(text) > area(panel.tabs) and area(text) > area(alts)
                and chars() >= 36)  # a line holds a readable stretch of text, not ~26 characters

    qtbot.waitUntil(text_first, timeout=20000)
    # a drag of the splitter is the user's: a later resize keeps it
    panel.text_split.splitterMoved.emit(100, 1)
    before = panel.text_split.sizes()
    w.resize(size[0] - 100, size[1])
    qtbot.waitUntil(lambda: w.width() <= size[0] - 100, timeout=20000)
    assert panel.text_split.sizes()[1] == before[1]
    w.close()
