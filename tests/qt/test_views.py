"""The plots draw any distribution a model gives: bars, many bars, densities; the throttle keeps the last frame."""

from __future__ import annotations

import numpy as np
import pytest

from arstudio.core.dists import DistView
from arstudio.qt.throttle import FrameThrottle
from arstudio.qt.views.dist_plot import LABEL_CHAR_PX, TOP_BARS, DistPlot
from arstudio.qt.views.strip import LogProbStrip


def test_bars_highlight_the_chosen_value(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    view = DistView("bars", np.arange(3), np.array([[0.2, 0.5, 0.3]]), np.array([1.03]), ("a", "b", "c"))
    plot.show_dist(view, chosen=2, log_p=float(np.log(0.3)), title="step 4")
    brushes = plot.bars.opts["brushes"]
    assert brushes[2].color() != brushes[0].color() and brushes[0].color() == brushes[1].color()
    assert "chosen c" in plot.caption.text() and "H = 1.030 nats" in plot.caption.text()
    clicked = []
    plot.value_clicked.connect(clicked.append)
    plot.click_value(1)
    assert clicked == [1]


def test_many_values_show_the_most_probable_and_the_chosen(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    p = np.full(500, 1e-4)
    p[:50] = np.linspace(0.03, 0.01, 50)
    p /= p.sum()
    labels = tuple(f"tok{i}" for i in range(500))
    plot.show_dist(DistView("bars", np.arange(500), p[None], np.array([3.0]), labels), chosen=400, log_p=-9.0)
    assert len(plot._shown) == TOP_BARS and 400 in plot._shown
    # 40 labels would overlap: every k-th bar is named, the most probable first, and the chosen one
    ticks = plot.plot.getAxis("bottom")._tickLevels[0]
    named = [i for i, t in ticks if t]
    every = named[1] - named[0]
    assert ticks[0][1] == "tok0" and every > 1 and "tok400" in [t for _, t in ticks]
    assert all(i % every == 0 for i, t in ticks if t and t != "tok400")
    assert all(b - a >= every for a, b in zip(named, named[1:]))  # the chosen one crowds out its neighbours
    per_bar = max(80.0, plot.plot.width() - 60.0) / TOP_BARS
    assert every * per_bar >= len("tok400") * LABEL_CHAR_PX  # neighbouring labels leave room for the longest


def test_density_is_drawn_as_a_curve_with_a_marker(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    grid = np.linspace(-0.5, 1.5, 201)
    dens = np.exp(-0.5 * ((grid - 0.4) / 0.1) ** 2) / (0.1 * np.sqrt(2 * np.pi))
    plot.show_dist(DistView("density", grid, dens[None], np.array([-0.9])), chosen=0.42, log_p=1.3)
    x, y = plot.curve.getData()
    assert len(x) == 201 and np.isclose(y.max(), dens.max())
    assert plot.marker.isVisible() and np.isclose(plot.marker.value(), 0.42)
    assert plot.bars.opts["height"] is None or len(plot.bars.opts["height"]) == 0
    assert plot.plot.getAxis("left").labelText == "density"  # it passes 1 here: not a probability
    plot.show_dist(DistView("bars", np.arange(2), np.array([[0.3, 0.7]]), np.array([0.6])), chosen=1)
    assert plot.plot.getAxis("left").labelText == "p"
    plot.clear()
    assert plot.view is None


def test_strip_sums_log_p(qtbot):
    strip = LogProbStrip()
    qtbot.addWidget(strip)
    strip.reset(10)
    strip.set_series(np.log(np.full(4, 0.5)), np.array([False, True, False, False]), sample=2)
    assert "4 of 10 steps" in strip.summary.text() and "-2.77 nats" in strip.summary.text()
    assert len(strip.forced.data) == 1


@pytest.mark.parametrize("height", [110, 160, 400])
@pytest.mark.parametrize("y_range", [(-1.0, 0.1), (-15.0, 0.0), (-0.003, 0.0)])
def test_the_strips_log_p_labels_never_overlap(qtbot, height, y_range):
    from PySide6.QtGui import QImage, QPainter

    strip = LogProbStrip()
    qtbot.addWidget(strip)
    strip.resize(1250, height)  # 110 px: the strip of a 1280x800 window
    strip.show()
    strip.reset(100)
    strip.plot.setYRange(*y_range, padding=0)
    qtbot.waitUntil(lambda: strip.plot.getAxis("left").height() > 0)
    image = QImage(100, 600, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        texts = strip.plot.getAxis("left").generateDrawSpecs(painter)[2]  # (rect, flags, text) per label
    finally:
        painter.end()
    rects = [t[0] for t in texts]
    assert len(rects) >= 2, [t[2] for t in texts]  # still a scale to read
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:]), [t[2] for t in texts]


def test_throttle_coalesces_and_draws_the_last(qtbot):
    drawn = []
    th = FrameThrottle(drawn.append, min_ms=30)
    for i in range(10):
        th(i)
    assert drawn == [0]  # the leading edge at once
    qtbot.waitUntil(lambda: drawn[-1] == 9, timeout=2000)
    assert len(drawn) == 2  # the rest coalesced into one trailing frame


def test_a_mouse_click_on_a_bar_reports_its_value(qtbot):
    from PySide6.QtCore import QPointF, Qt

    plot = DistPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.show_dist(DistView("bars", np.arange(2), np.array([[0.3, 0.7]]), np.array([0.6])), chosen=1, log_p=-0.36)
    qtbot.wait(20)
    vb = plot.plot.getPlotItem().getViewBox()
    scene_pos = vb.mapViewToScene(QPointF(0.0, 0.2))
    pos = plot.plot.mapFromScene(scene_pos)
    with qtbot.waitSignal(plot.value_clicked, timeout=2000) as sig:
        qtbot.mouseClick(plot.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert sig.args == [0]


def test_a_new_step_with_the_same_values_keeps_the_axes(qtbot, monkeypatch):
    """Axes are laid out once per support, not on every redraw (axis layout costs the sampler GIL time)."""
    plot = DistPlot()
    qtbot.addWidget(plot)
    view = DistView("bars", np.arange(3), np.array([[0.2, 0.5, 0.3]]), np.array([1.0]), None)
    plot.show_dist(view, 1, np.log(0.5))
    calls = []
    axis = plot.plot.getAxis("bottom")
    monkeypatch.setattr(axis, "setTicks", lambda *a: calls.append(a))
    plot.clear("Sampling…")
    plot.show_dist(view, 2, np.log(0.3))
    assert calls == []
    plot.show_dist(DistView("bars", np.arange(4), np.full((1, 4), 0.25), np.array([1.0]), None), 0, np.log(0.25))
    assert len(calls) == 1


def test_strip_keeps_its_axes_between_runs_of_the_same_length(qtbot):
    strip = LogProbStrip()
    qtbot.addWidget(strip)
    strip.reset(10)
    strip.set_series(np.array([-0.5, -3.0]), np.zeros(2, dtype=bool), 0)
    yrange = strip._yrange
    strip.reset(10)
    assert strip._yrange == yrange  # the same model again: log p lies in the same range
    strip.reset(0)  # a reset between runs
    strip.reset(10)
    assert strip._yrange == yrange
    strip.reset(20)
    assert strip._yrange == (-1.0, 0.1)


def test_a_half_built_label_item_answers_a_size_hint(qapp):
    """Qt may ask a LabelItem for its size hint before pyqtgraph's __init__ has set its table (#472)."""
    import pyqtgraph as pg
    from PySide6.QtCore import QSizeF, Qt

    import arstudio.qt.views.plotting  # noqa: F401  (installs the default)

    class HalfBuilt(pg.LabelItem):
        def __init__(self) -> None:
            pg.GraphicsWidget.__init__(self)  # the base only, as while LabelItem.__init__ runs
            self.hint = self.sizeHint(Qt.SizeHint.PreferredSize, QSizeF())

    assert HalfBuilt().hint == QSizeF(0, 0)
    label = pg.LabelItem("log p")
    assert label.sizeHint(Qt.SizeHint.PreferredSize, QSizeF()).width() > 0  # a built one has its own
