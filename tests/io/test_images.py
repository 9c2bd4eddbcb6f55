"""Image files into a model's layout: conversion of size, mode and levels, and one-line refusals of bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arstudio.core.spec import ValueSpace
from arstudio.io import images
from arstudio.io.images import ImageError, heatmap_figure, heatmap_rgb, load_for_model, read_image, to_values

GREY17 = ValueSpace("categorical", 17)


def test_a_matching_grey_png_is_read_exactly(tmp_path: Path) -> None:
    levels = np.arange(64).reshape(8, 8) % 17
    Image.fromarray(np.rint(levels / 16 * 255).astype(np.uint8), mode="L").save(tmp_path / "g.png")
    img = load_for_model(tmp_path / "g.png", (1, 8, 8), GREY17, match_background=False)
    np.testing.assert_array_equal(img.values, levels.reshape(-1))
    assert img.notes == ()


def test_a_wrong_size_rgb_png_is_converted(tmp_path: Path) -> None:
    rgb = np.zeros((60, 100, 3), dtype=np.uint8)
    rgb[10:50, 40:60] = (255, 40, 40)  # a red bar in the middle of a black, wide picture
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "wide.png")
    img = load_for_model(tmp_path / "wide.png", (1, 8, 8), GREY17)
    assert img.values.shape == (64,) and img.values.dtype == np.int64
    assert img.values.min() >= 0 and img.values.max() <= 16
    assert img.source_size == (100, 60) and img.source_mode == "RGB"
    text = "; ".join(img.notes)
    assert "to grey" in text and "resized 100x60 to 8x8" in text and "aspect" in text
    grid = img.values.reshape(8, 8)
    assert grid[:, 3:5].sum() > 0 and grid[:, 0].sum() == 0  # the bar stays in the middle


def test_binary_threshold_rgba_and_light_background(tmp_path: Path) -> None:
    a = np.full((16, 16, 4), 255, dtype=np.uint8)  # white paper
    a[4:12, 6:10, :3] = 0  # black ink
    Image.fromarray(a, mode="RGBA").save(tmp_path / "ink.png")
    img = load_for_model(tmp_path / "ink.png", (1, 8, 8), ValueSpace("binary"))
    grid = img.values.reshape(8, 8)
    assert set(np.unique(grid)) == {0, 1}
    assert grid[2:6, 3:5].all() and grid[0].sum() == 0  # inverted: the ink is 1, the paper 0
    assert any("inverted" in n for n in img.notes)


def test_grey_is_copied_to_rgb_and_16_bit_is_scaled(tmp_path: Path) -> None:
    a = (np.arange(16, dtype=np.uint16).reshape(4, 4) * 4000)
    Image.fromarray(a).save(tmp_path / "deep.png")
    pixels, mode = read_image(tmp_path / "deep.png")
    assert pixels.dtype == np.uint8 and pixels.shape == (4, 4) and mode.startswith("I")
    img = to_values(pixels, (3, 4, 4), ValueSpace("categorical", 256), match_background=False)
    x = img.values.reshape(3, 4, 4)
    assert np.array_equal(x[0], x[1]) and np.array_equal(x[0], x[2])
    assert "grey copied into R, G and B" in img.notes


@pytest.mark.parametrize("content, words", [(b"", "empty"), (b"hello, not a picture", "not an image"),
                                            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "truncated or corrupt")])
def test_bad_files_are_refused_in_one_line(tmp_path: Path, content: bytes, words: str) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    with pytest.raises(ImageError) as err:
        load_for_model(bad, (1, 8, 8), GREY17)
    assert words in str(err.value) and "\n" not in str(err.value) and str(bad) in str(err.value)


def test_missing_folder_huge_and_too_many_pixels_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="folder"):
        read_image(tmp_path)
    Image.fromarray(np.zeros((40, 50), dtype=np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    with pytest.raises(ImageError, match="50x40 pixels"):
        read_image(tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 10)
    with pytest.raises(ImageError, match="over"):
        read_image(tmp_path / "big.png")


def test_a_decompression_bomb_header_is_refused(tmp_path: Path) -> None:
    """A tiny file that claims 30000 x 30000 pixels: refused from its header, nothing decoded."""
    Image.new("1", (30000, 30000)).save(tmp_path / "bomb.png")
    assert (tmp_path / "bomb.png").stat().st_size < 1_000_000
    with pytest.raises(ImageError, match="pixels"):
        read_image(tmp_path / "bomb.png")


def test_heatmap_colours_and_figure() -> None:
    v = np.array([[0.0, 1.0], [2.0, np.nan]])
    rgb = heatmap_rgb(v, vmax=2.0)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].sum() < rgb[0, 1].sum() < rgb[1, 0].sum()  # brighter = higher NLL
    assert (rgb[1, 1] == 128).all()
    fig = heatmap_figure(np.zeros((1, 2, 2)), v, 2.0, scale=4, gap=2)
    assert fig.shape == (2 * 4 + 4, 2 * 8 + 8 + 8, 3)
