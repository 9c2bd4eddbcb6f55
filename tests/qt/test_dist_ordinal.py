"""Levels that are numbers (PixelCNN++'s 256 intensities, grey levels) are drawn in value order, whatever the panel."""

from __future__ import annotations

import numpy as np
import torch

from arstudio.core.dists import DiscretizedLogisticMixture
from arstudio.core.policy import SamplingPolicy
from arstudio.engine.messages import StepDists
from arstudio.qt.views.dist_plot import DistPlot, is_ordinal


def pixelcnn_pp_view():
    """The record's view of one PixelCNN++ step: a mixture of logistics over 256 levels, its 16 most likely kept."""
    g = torch.Generator().manual_seed(0)
    dist = DiscretizedLogisticMixture(torch.randn(1, 5, generator=g), 0.3 * torch.randn(1, 5, generator=g),
                                      torch.full((1, 5), -3.0), levels=256)
    return StepDists.compact([dist.view()]).row(0, 0)


def test_intensities_stand_at_their_values_with_an_increasing_axis(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_value_order(False)  # what the image panel asks: the choice is the view's
    view = pixelcnn_pp_view()
    assert view.total == 256 and view.labels is None and is_ordinal(view)
    chosen = int(view.support[3])
    plot.show_dist(view, chosen=chosen, log_p=float(np.log(view.probs[0, 3])), title="step 40")
    assert plot.in_value_order
    x = np.asarray(plot.bars.opts["x"])
    np.testing.assert_array_equal(x, np.asarray(view.support, dtype=float))  # each level at its place
    ticks = [(v, t) for v, t in plot.plot.getAxis("bottom")._tickLevels[0] if t]
    values = [int(t) for _, t in ticks]
    assert values == sorted(values) and values[0] == 0 and values[-1] == 255  # "0 32 64 ... 255", not by probability
    assert all(v == int(t) for v, t in ticks)
    lo, hi = plot.plot.getViewBox().viewRange()[0]
    assert lo < 0 and hi > 255
    assert plot.rest_label.isVisible() and "other 240 values" in plot.rest_label.toPlainText()
    assert f"chosen {chosen}" in plot.caption.text()


def test_top_k_on_levels_marks_the_lowest_kept_probability(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    view = pixelcnn_pp_view()
    plot.show_dist(view, chosen=int(view.support[0]), log_p=-1.0, policy=SamplingPolicy(top_k=4))
    heights = np.asarray(plot.bars.opts["height"])
    assert np.count_nonzero(heights) == 4
    kept_raw = np.sort(view.probs[0])[::-1][:4]
    assert plot.cut_level.isVisible() and np.isclose(plot.cut_level.value(), kept_raw.min())
    assert "4 of 256 kept" in plot.cut_label.toPlainText()


def test_labelled_values_keep_the_most_likely_first(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    p = np.full(100, 0.5 / 96)
    p[[50, 7, 90, 3]] = [0.2, 0.15, 0.1, 0.05]
    from arstudio.core.dists import DistView

    view = DistView("bars", np.arange(100), p[None], np.array([2.0]), tuple(f"t{i}" for i in range(100)))
    assert not is_ordinal(view)
    plot.show_dist(view, chosen=7, log_p=float(np.log(0.15)))
    assert not plot.in_value_order and list(plot._shown[:4]) == [50, 7, 90, 3]


def test_bars_over_a_large_support_get_a_p_scale_that_shows_them(qtbot):
    """256 levels of a few hundredths each: the p axis fits the highest bar; a few grey levels keep 0..1."""
    from arstudio.core.dists import DistView

    plot = DistPlot()
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    plot.show()
    plot.set_value_order(True)  # as the audio panel asks
    probs = np.exp(-0.5 * ((np.arange(256) - 150) / 20.0) ** 2)
    probs /= probs.sum()  # a smooth bump, at most 0.02
    flat = DistView("bars", np.arange(256), probs[None], np.array([5.0]), None)
    plot.show_dist(StepDists.compact([flat]).row(0, 0), chosen=150, log_p=float(np.log(probs[150])))
    lo, hi = plot.plot.getViewBox().viewRange()[1]
    assert probs.max() * 1.1 <= hi <= 0.05 * 1.05  # the bump fills most of the height, not 2% of it
    assert plot.rest_label.pos().y() <= hi
    assert "x0.0" not in plot.plot.getAxis("left").labelString()  # p in its own units, never "p (x0.001)"
    peaked = probs.copy()
    peaked[150] += 0.6
    peaked /= peaked.sum()
    plot.show_dist(StepDists.compact([DistView("bars", np.arange(256), peaked[None], np.array([2.0]), None)]).row(0, 0),
                   chosen=150, log_p=float(np.log(peaked[150])))
    assert plot.plot.getViewBox().viewRange()[1][1] >= peaked.max()  # a tall bar is never cut off
    few = DistView("bars", np.arange(8), np.full((1, 8), 1 / 8), np.array([2.08]), None)
    plot.show_dist(few, chosen=3, log_p=float(np.log(1 / 8)))
    assert plot.plot.getViewBox().viewRange()[1][1] >= 1.0  # grey levels: p on its whole scale
