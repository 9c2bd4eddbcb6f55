"""Class 2: importing an image costs memory in proportion to the model's size, not the file's: a 50000 x 1 strip
is shrunk (in uint8, by Pillow) before it is padded to the model's aspect, and floats are only ever made at
a few times the model's size.
"""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arstudio.core.spec import ValueSpace
from arstudio.io.images import ImageError, load_for_model, reduce_factor, to_values

BINARY = ValueSpace("binary")
GREY = ValueSpace("categorical", 17)
LIMIT = 32 * 2**20  # bytes of numpy arrays at the peak; padding 50000 x 1 at full size in float64 took 18.6 GiB


def _peak(fn: object) -> int:
    tracemalloc.start()
    try:
        fn()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("size, mode", [((50000, 1), "L"), ((1, 50000), "L"), ((20000, 1), "RGB"),
                                        ((30000, 2), "RGBA"), ((20000, 3), "P"), ((40000, 1), "1"),
                                        ((20000, 2), "I;16")])
def test_a_long_strip_costs_little_memory(size: tuple[int, int], mode: str, tmp_path: Path) -> None:
    p = tmp_path / "strip.png"
    im = Image.new(mode, size)
    if mode == "P":
        im.putpalette([0, 0, 0, 255, 255, 255] * 128)
    im.save(p)
    out: list[object] = []
    peak = _peak(lambda: out.append(load_for_model(p, (1, 8, 8), BINARY)))
    img = out[0]
    assert peak < LIMIT, f"{peak / 2**20:.0f} MiB"
    assert img.values.shape == (64,) and img.source_size == size  # type: ignore[attr-defined]
    assert any("padded to keep its aspect ratio" in n for n in img.notes)  # type: ignore[attr-defined]


def test_to_values_on_a_huge_array_shrinks_before_floats() -> None:
    a = np.zeros((1, 200_000), dtype=np.uint8)
    a[0, 100_000:] = 255
    out: list[object] = []
    peak = _peak(lambda: out.append(to_values(a, (1, 8, 8), GREY, match_background=False)))
    assert peak < LIMIT
    v = out[0].values.reshape(8, 8)  # type: ignore[attr-defined]
    assert (v[3, :4] == 0).all() and (v[3, 4:] == 16).all()  # the strip's two halves, in the middle row
    rest = np.delete(v, 3, axis=0)
    assert (rest == rest[0, 0]).all()  # the rest is padding of one (the border's) grey


def test_a_big_jpeg_is_decoded_at_a_reduced_scale(tmp_path: Path) -> None:
    p = tmp_path / "big.jpg"
    Image.new("RGB", (4000, 3000), (200, 30, 30)).save(p, quality=80)
    out: list[object] = []
    peak = _peak(lambda: out.append(load_for_model(p, (3, 8, 8), GREY)))
    assert peak < LIMIT and out[0].source_size == (4000, 3000)  # type: ignore[attr-defined]


def test_the_result_matches_a_direct_resize_for_an_ordinary_picture(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pix = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    direct = to_values(pix, (1, 8, 8), GREY, match_background=False)
    ref = np.asarray(Image.fromarray(pix.astype(np.float32), mode="F").resize((8, 8), Image.Resampling.BOX))
    assert np.abs(direct.values.reshape(8, 8) - np.rint(ref / 255 * 16)).max() <= 1


@pytest.mark.parametrize("h0, w0, factor", [(60, 100, 3), (1, 50000, 1562), (8, 8, 1), (16, 16, 1), (64, 64, 2)])
def test_reduce_factor_keeps_a_margin(h0: int, w0: int, factor: int) -> None:
    assert reduce_factor(h0, w0, 8, 8) == factor


def test_special_and_oversized_image_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="named pipe"):
        load_for_model(fifo, (1, 8, 8), BINARY)
    with pytest.raises(ImageError, match="character device"):
        load_for_model("/dev/zero", (1, 8, 8), BINARY)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10000, 10000)).save(bomb)  # 100 Mpx in a few kB
    with pytest.raises(ImageError, match="million pixels|too many pixels"):
        load_for_model(bomb, (1, 8, 8), BINARY)
