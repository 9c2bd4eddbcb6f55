"""PNG export: the grid, text chunks, atomic writes and one-line errors."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arstudio.core.spec import Layout, ModelSpec, ValueSpace
from arstudio.io import ExportError, export_samples, image_grid, read_png, write_png
from arstudio.io.png import PAD_VALUE


def test_grid_layout_and_values() -> None:
    x = np.zeros((5, 1, 2, 3))
    x[1] = 1.0
    g = image_grid(x, scale=2, pad=1)
    assert g.dtype == np.uint8 and g.ndim == 2
    assert g.shape == (1 + 2 * (4 + 1), 1 + 3 * (6 + 1))  # ncol = ceil(sqrt(5)) = 3, two rows
    assert (g[1:5, 1:7] == 0).all()  # image 0: black
    assert (g[1:5, 8:14] == 255).all()  # image 1: white, scaled 2x
    assert g[0, 0] == PAD_VALUE and (g[6:10, 15:21] == PAD_VALUE).all()  # padding and the empty sixth cell


def test_grid_rgb_columns_and_clipping() -> None:
    x = np.random.default_rng(0).uniform(-1, 2, size=(4, 3, 2, 2))
    g = image_grid(x, ncol=4, scale=1, pad=0)
    assert g.shape == (2, 8, 3)
    assert np.array_equal(g[:, :2, 0], np.rint(np.clip(x[0, 0], 0, 1) * 255).astype(np.uint8))


@pytest.mark.parametrize("shape", [(2, 8, 8), (1, 2, 8, 8), (0, 1, 8, 8)])
def test_grid_rejects_bad_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        image_grid(np.zeros(shape))


def test_round_trip_with_text(tmp_path: Path) -> None:
    a = image_grid(np.random.default_rng(1).random((3, 1, 4, 4)))
    text = {"seed": "3", "note": "grün ✓"}
    p = write_png(tmp_path / "g.png", a, text)
    back, got = read_png(p)
    assert np.array_equal(back, a) and got == text
    with Image.open(p) as im:
        assert im.format == "PNG"


def test_same_input_same_bytes_and_normal_permissions(tmp_path: Path) -> None:
    a = image_grid(np.ones((2, 3, 2, 2)))
    p1, p2 = write_png(tmp_path / "a.png", a, {"k": "v"}), write_png(tmp_path / "b.png", a, {"k": "v"})
    assert p1.read_bytes() == p2.read_bytes()
    assert stat.S_IMODE(p1.stat().st_mode) & 0o044  # not the 0600 of a temp file
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.png", "b.png"]  # no temp files left


def _picture() -> np.ndarray:
    return np.zeros((4, 4), dtype=np.uint8)


def test_folder_as_path(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="is a folder"):
        write_png(tmp_path, _picture())


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        write_png(tmp_path / "no" / "such" / "x.png", _picture())


def test_parent_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    for target in (f / "x.png", f / "deeper" / "x.png"):
        with pytest.raises(ExportError, match="is a file, not a folder") as e:
            write_png(target, _picture())
        assert "\n" not in str(e.value)


def test_read_only_folder(tmp_path: Path, make_read_only, monkeypatch: pytest.MonkeyPatch) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    make_read_only(ro)
    with pytest.raises(ExportError, match="permission denied"):
        write_png(ro / "x.png", _picture())
    # past the up-front check (as when permissions change in between): the write itself fails, one line
    monkeypatch.setattr("arstudio.io.atomic.check_writable", lambda p: Path(p))
    with pytest.raises(ExportError, match="cannot write: Permission denied") as e:
        write_png(ro / "x.png", _picture())
    assert "\n" not in str(e.value) and not list(ro.iterdir())


def test_failure_mid_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "keep.png"
    target.write_bytes(b"precious")

    def broken_save(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"half a png")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ExportError, match="No space left on device"):
        write_png(target, _picture())
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_rejects_non_uint8() -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_png("unused.png", np.zeros((2, 2)))


def test_read_png_errors(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such file"):
        read_png(tmp_path / "none.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(ExportError, match="not a readable PNG"):
        read_png(junk)


def test_export_samples_by_modality(tmp_path: Path) -> None:
    spec = ModelSpec("demo", {}, Layout("image", (1, 2, 2)), ValueSpace("categorical", 5))
    x = np.array([[0, 1, 2, 4], [4, 4, 4, 4]])
    p = export_samples(tmp_path / "s.png", spec, x, {"seed": "0"})
    img, text = read_png(p)
    assert img.shape == (1 + 17, 1 + 2 * 17) and text == {"seed": "0"}  # two cells side by side, 2x2 pixels scaled 8x
    assert img[1, 1] == 0 and img[9, 9] == 255 and img[1, 9] == round(255 / 4)
    with pytest.raises(ValueError, match=r"\.png"):
        export_samples(tmp_path / "s.jpg", spec, x)
    with pytest.raises(ValueError, match="no installed modality .smell."):
        export_samples(tmp_path / "s.xyz", ModelSpec("d", {}, Layout("smell", (3,)), ValueSpace("binary")), x)
