"""The attention view: layer and head choices, a colour scale in weights, axis labels that never overlap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtGui import QFontMetrics

from arstudio.qt.modalities.text.attention import AVERAGE, EACH, KEY_CHARS, AttentionView
from arstudio.qt.modalities.text.lists import quoted

LAYERS, HEADS, KEYS = 4, 4, 40


def maps() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    w = rng.random((LAYERS, HEADS, KEYS)) ** 4
    return list(w / w.sum(-1, keepdims=True))


def keys() -> list[str]:
    return ["BOS"] + [f" word{i}" for i in range(KEYS - 1)]


@pytest.fixture
def view(qtbot):
    v = AttentionView()
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_rows_follow_the_layer_and_head_choice(view):
    m = np.stack(maps())
    view.show_attention(list(m), keys(), "attention that predicted step 40")
    assert view.weights.shape == (LAYERS, KEYS)  # heads start averaged: one row per layer
    np.testing.assert_allclose(view.weights, m.mean(1), atol=1e-6)
    view.set_choice(heads=EACH)
    np.testing.assert_allclose(view.weights, m.reshape(-1, KEYS), atol=1e-6)
    assert len(view._lines) == LAYERS - 1  # layers are set apart
    view.set_choice(layer=2, heads=EACH)
    np.testing.assert_allclose(view.weights, m[2], atol=1e-6)
    view.set_choice(layer=None, heads=1)
    np.testing.assert_allclose(view.weights, m[:, 1], atol=1e-6)
    view.show_attention(list(m), keys(), "the next step")  # the same model: the choice is kept
    np.testing.assert_allclose(view.weights, m[:, 1], atol=1e-6)
    view.set_choice(heads=AVERAGE)
    np.testing.assert_allclose(view.weights, m.mean(1), atol=1e-6)


def test_the_colour_scale_reads_in_weights(view):
    m = np.stack(maps())
    view.show_attention(list(m), keys(), "t")
    bar = view.colour_bar
    top = float(view.weights.max())
    assert bar.isVisible() and bar.levels() == pytest.approx((0.0, math.sqrt(top)))
    assert view.image.getLevels() == pytest.approx((0.0, math.sqrt(top)))  # colour: the square root of the weight
    ticks = bar.axis._tickLevels[0]
    for pos, label in ticks:  # each tick sits at the square root of the weight it names
        assert pos == pytest.approx(math.sqrt(float(label)), abs=0.02)
    view.clear("nothing")
    assert not bar.isVisible() and view.image.image is None and not view._lines


@pytest.mark.parametrize("size", [(360, 160), (520, 220), (1100, 480)])
def test_axis_labels_never_overlap(view, qtbot, size):
    view.resize(*size)
    view.show_attention(maps(), keys(), "t")
    view.set_choice(heads=EACH)
    qtbot.waitUntil(lambda: view.plot.getViewBox().sceneBoundingRect().width() > 0, timeout=20000)
    vb = view.plot.getViewBox().sceneBoundingRect()
    fm = QFontMetrics(view.plot.getAxis("bottom").font())
    bottom = view.plot.getAxis("bottom")._tickLevels[0]
    widest = max(fm.horizontalAdvance(quoted(k, KEY_CHARS)) for k in keys())
    gaps = [(b[0] - a[0]) * vb.width() / KEYS for a, b in zip(bottom, bottom[1:])]
    assert bottom and min(gaps) >= widest
    left = view.plot.getAxis("left")._tickLevels[0]
    rows = view.weights.shape[0]
    heights = [(b[0] - a[0]) * vb.height() / rows for a, b in zip(left, left[1:])]
    assert left and (not heights or min(heights) >= fm.height())
    if vb.height() / rows >= fm.height() + 1:  # room for every row: each one named
        assert len(left) == rows


def test_another_model_shape_starts_from_averaged_heads(view):
    view.show_attention(maps(), keys(), "t")
    view.set_choice(layer=3, heads=2)
    small = [np.full((2, 5), 0.2, dtype=np.float32)]  # one layer of two heads
    view.show_attention(small, keys()[:5], "t")
    assert view.layer.count() == 2 and view.heads.currentIndex() == 1 and view.weights.shape == (1, 5)
