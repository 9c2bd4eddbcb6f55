"""glyphs28: seeded rendering, shapes, value range, balanced labels, fixed split."""

from __future__ import annotations

import numpy as np
import torch

from arstudio.data import get_dataset
from arstudio.data.glyphs import CLASSES, LEVELS, available_fonts, render_glyphs


def test_rendering_is_seeded_and_in_range() -> None:
    a, ya, fonts = render_glyphs(72, seed=3)
    b, yb, _ = render_glyphs(72, seed=3)
    c, _, _ = render_glyphs(72, seed=4)
    assert np.array_equal(a, b) and np.array_equal(ya, yb) and not np.array_equal(a, c)
    assert a.shape == (72, 28, 28) and a.dtype == np.int64
    assert a.min() == 0 and a.max() == LEVELS - 1
    assert np.bincount(ya, minlength=len(CLASSES)).tolist() == [2] * len(CLASSES)
    assert fonts and fonts[0].startswith("Pillow")
    # glyphs are drawn: a fair share of ink, and most of the border is background
    ink = (a >= LEVELS // 2).mean(axis=(1, 2))
    assert (ink > 0.015).all() and (ink < 0.5).all()
    assert (a[:, 0, :] <= 1).mean() > 0.95


def test_fonts_found_offline() -> None:
    names = [n for n, _ in available_fonts(20)]
    assert names and len(set(names)) == len(names)


def test_glyphs28_data_set() -> None:
    ds = get_dataset("glyphs28")
    assert ds.layout.shape == (1, 28, 28) and ds.values.kind == "categorical" and ds.values.n == LEVELS
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (10000, 1000, 1000)
    assert ds.train.shape[1] == 784 and ds.train.dtype == torch.int64
    split = ds.split
    assert set(split["train"]).isdisjoint(split["valid"]) and set(split["valid"]).isdisjoint(split["test"])
    assert ds.labels["train"].shape == (10000,) and int(ds.labels["valid"].max()) < len(CLASSES)
    assert ds.model_config() == {"shape": [1, 28, 28], "values": "categorical", "levels": LEVELS}
    assert get_dataset("glyphs28") is ds  # cached in memory
    assert "fonts:" in ds.description
