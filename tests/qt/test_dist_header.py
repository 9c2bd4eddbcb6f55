"""The distribution view's header never wraps or clips what matters: log p stays visible at any width."""

from __future__ import annotations

import numpy as np
import pytest

from arstudio.core.dists import DistView
from arstudio.qt.views.dist_header import PAD
from arstudio.qt.views.dist_plot import DistPlot

TITLE = "step 3071 · pixel (channel 2, row 31, col 31) · sample 15 (forced) · pinned"


def long_token_view() -> DistView:
    labels = ("a", "a_very_long_token_from_a_byte_level_vocabulary", "c")
    return DistView("bars", np.arange(3), np.array([[0.2, 0.5, 0.3]]), np.array([1.03]), labels)


@pytest.mark.parametrize("width", [220, 300, 420, 1400])
def test_log_p_is_visible_and_each_line_fits_at_any_width(qtbot, width):
    plot = DistPlot()
    qtbot.addWidget(plot)
    plot.resize(width, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.show_dist(long_token_view(), chosen=1, log_p=float(np.log(0.5)), title=TITLE)
    head = plot.caption
    first, second = head.lines()
    room = head.width() - 2 * PAD
    assert "log p = -0.693" in second
    assert head.fontMetrics().horizontalAdvance(second) <= room
    from PySide6.QtGui import QFontMetrics

    assert QFontMetrics(head._bold).horizontalAdvance(first) <= room
    assert head.height() == 2 * head.fontMetrics().lineSpacing() + 2 * PAD  # two fixed lines, whatever the text
    assert head.sizeHint().width() <= room + 2 * PAD or head.sizePolicy().horizontalPolicy().name == "Ignored"
    if width >= 1400:  # room for everything
        assert first == TITLE and "H = 1.030 nats" in second and "a_very_long_token" in second
    else:
        assert head.toolTip() == head.text()  # what gave way is in the tooltip
    # everything set is still there to read, whatever is drawn
    assert "chosen a_very_long_token_from_a_byte_level_vocabulary" in head.text() and TITLE in head.text()


def test_the_least_important_numbers_give_way_first(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    plot.show_dist(long_token_view(), chosen=2, log_p=float(np.log(0.3)), title="step 1")
    head = plot.caption
    fm = head.fontMetrics()
    full = head.text().split("\n")[1]
    widths = [fm.horizontalAdvance(full) + 2 * PAD + 2, fm.horizontalAdvance(full) - 10, 130, 60]
    shown = [head.lines(w)[1] for w in widths]
    assert shown[0] == full and "H =" in shown[0]
    assert "H =" not in shown[1] and "log p" in shown[1] and "chosen c" in shown[1]
    assert all("log p" in s or s.startswith("log") for s in shown[:3])


def test_a_message_replaces_the_step(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    plot.show_dist(long_token_view(), chosen=1, log_p=-0.7, title="step 1")
    plot.clear("Sampling…")
    assert plot.caption.text() == "Sampling…" and plot.caption.lines(400) == ("Sampling…", "")
