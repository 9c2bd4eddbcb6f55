"""shapes32: seeded scenes, captions that match the drawn pixels, value range, fixed split, speed."""

from __future__ import annotations

import numpy as np

from arstudio.data.shapes import COLOUR_NAMES, COLOURS, SHAPES, SIZES, caption, render_scenes


def test_rendering_is_seeded_and_in_range() -> None:
    a, sa = render_scenes(300, seed=3)
    b, sb = render_scenes(300, seed=3)
    c, _ = render_scenes(300, seed=4)
    assert np.array_equal(a, b) and sa.captions == sb.captions and not np.array_equal(a, c)
    assert a.shape == (300, 3, 32, 32) and a.dtype == np.uint8
    assert set(np.unique(sa.count)) == {1, 2} and set(np.unique(sa.shape[:, 0])) == set(range(len(SHAPES)))


def test_captions_name_the_attributes() -> None:
    _, s = render_scenes(200, seed=1)
    for i in range(200):
        text = s.captions[i]
        assert text == caption(s, i)
        assert SHAPES[s.shape[i, 0]] in text and COLOUR_NAMES[s.colour[i, 0]] in text and SIZES[s.size[i, 0]] in text
        if s.count[i] == 2:
            assert SHAPES[s.shape[i, 1]] in text and s.colour[i, 0] != s.colour[i, 1]
        else:
            assert s.shape[i, 1] == -1 and (" at the " in text or "in the centre" in text)


def test_shapes_are_drawn_where_and_as_large_as_recorded() -> None:
    x, s = render_scenes(100, seed=2)
    for i in np.nonzero(s.count == 1)[0]:
        img = x[i].astype(np.float64)
        colour = np.array(COLOURS[COLOUR_NAMES[s.colour[i, 0]]], dtype=np.float64)
        bg = np.median(img.reshape(3, -1), axis=1)
        ink = np.abs(img - bg[:, None, None]).sum(0) > 0.5 * np.abs(colour - bg).sum()
        ys, xs = np.nonzero(ink)
        cx, cy = s.centre[i, 0]
        assert abs(xs.mean() + 0.5 - cx) < 1.6 and abs(ys.mean() + 0.5 - cy) < 2.6  # triangles sit low
        assert 0.9 * s.radius[i, 0] ** 2 < ink.sum() < 4.2 * s.radius[i, 0] ** 2


def test_two_shapes_follow_their_relation() -> None:
    _, s = render_scenes(200, seed=5)
    for i in np.nonzero(s.count == 2)[0]:
        (x0, y0), (x1, y1) = s.centre[i]
        rel = s.relation[i]
        assert [x0 < x1, x0 > x1, y0 < y1, y0 > y1][rel]
        r0, r1 = s.radius[i]
        assert np.hypot(x0 - x1, y0 - y1) > r0 + r1  # no overlap
