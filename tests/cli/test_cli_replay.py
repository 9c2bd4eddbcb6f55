"""`arstudio replay FILE --out COPY`: an export made again byte for byte, and clear one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin


@pytest.mark.parametrize("options", [
    ("--n", "6", "--seed", "3"),
    ("--n", "2", "--seed", "9", "--temperature", "0.7", "--top-k", "1", "--top-p", "0.9"),
    ("--n", "3", "--seed", "1", "--ordering", "1"),
])
def test_replay_reproduces_the_file_byte_for_byte(cli, trained, tmp_path, options) -> None:
    ckpt = trained["made" if "--ordering" in options else "nade"]
    first, copy = tmp_path / "a.png", tmp_path / "b.png"
    rc, _, err = cli("sample", ckpt, "--out", first, *options)
    assert rc == 0, err
    rc, out, err = cli("replay", first, "--out", copy, "--checkpoint", ckpt)
    assert rc == 0, err
    assert "replayed" in out
    assert copy.read_bytes() == first.read_bytes()


def test_replay_finds_the_checkpoint_by_hash(cli, trained, user_models, tmp_path) -> None:
    user_models.mkdir(parents=True, exist_ok=True)
    ckpt = shutil.copy(trained["nade"], user_models / "mine.safetensors")
    first, copy = tmp_path / "a.png", tmp_path / "b.png"
    assert cli("sample", "mine", "--out", first, "--n", "4")[0] == 0
    Path(ckpt).rename(user_models / "renamed.safetensors")  # found by its hash, not its name
    rc, _, err = cli("replay", first, "--out", copy)
    assert rc == 0, err
    assert copy.read_bytes() == first.read_bytes()


def _rewrite(src: Path, dst: Path, edit: dict[str, str | None]) -> None:
    im = Image.open(src)
    info = PngImagePlugin.PngInfo()
    for k, v in {**im.text, **edit}.items():
        if v is not None:
            info.add_text(k, v)
    im.save(dst, pnginfo=info)


@pytest.mark.parametrize("edit, says", [
    ({"arstudio:seed": "x"}, "arstudio:seed is 'x', not a whole number"),
    ({"arstudio:policy": "{"}, "arstudio:policy is '{'"),
    ({"arstudio:n": None}, "arstudio:n missing"),
])
def test_broken_metadata_is_one_clear_line(cli, trained, tmp_path, one_error_line, edit, says) -> None:
    first, broken = tmp_path / "a.png", tmp_path / "broken.png"
    assert cli("sample", trained["nade"], "--out", first, "--n", "2")[0] == 0
    _rewrite(first, broken, edit)
    rc, _, err = cli("replay", broken, "--out", tmp_path / "c.png")
    line = one_error_line(rc, err)
    assert "replay metadata is broken" in line and says in line
    assert not (tmp_path / "c.png").exists()


def test_no_metadata_missing_checkpoint_and_not_a_png(cli, trained, tmp_path, one_error_line) -> None:
    plain = tmp_path / "plain.png"
    Image.new("L", (4, 4)).save(plain)
    line = one_error_line(*cli("replay", plain, "--out", tmp_path / "c.png")[::2])
    assert "has no replay metadata" in line
    first = tmp_path / "a.png"
    assert cli("sample", trained["nade"], "--out", first, "--n", "2")[0] == 0  # made from a file not in any folder
    line = one_error_line(*cli("replay", first, "--out", tmp_path / "c.png")[::2])
    assert "is not among" in line and "--checkpoint PATH" in line
    line = one_error_line(*cli("replay", first, "--out", tmp_path / "c.png", "--checkpoint", trained["made"])[::2])
    assert "is not the checkpoint the export was made with" in line
    (tmp_path / "notes.txt").write_text("hello")
    line = one_error_line(*cli("replay", tmp_path / "notes.txt", "--out", tmp_path / "c.png")[::2])
    assert "plain text has no room for replay metadata" in line
    (tmp_path / "notes.bmp").write_text("hello")
    line = one_error_line(*cli("replay", tmp_path / "notes.bmp", "--out", tmp_path / "c.png")[::2])
    assert "cannot replay .bmp files" in line
    line = one_error_line(*cli("replay", tmp_path / "nope.png", "--out", tmp_path / "c.png")[::2])
    assert "no such file" in line
