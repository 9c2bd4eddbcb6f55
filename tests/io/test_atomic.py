"""The one output-path check (``check_writable``): exports and checkpoints fail early, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from arstudio.io.atomic import check_writable
from arstudio.io.errors import ExportError


def _refused(path: Path | str, words: str, **kwargs: object) -> None:
    with pytest.raises(ExportError, match=words) as e:
        check_writable(path, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(e.value)


def test_a_writable_path_is_returned(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "out.png") == tmp_path / "out.png"
    (tmp_path / "old.png").write_bytes(b"old")
    assert check_writable(str(tmp_path / "old.png")) == tmp_path / "old.png"  # replacing a file is fine
    assert check_writable(tmp_path / "m.safetensors", ".safetensors") == tmp_path / "m.safetensors"


def test_names_folders_and_files_in_the_way(tmp_path: Path) -> None:
    _refused("", "not a file name")
    _refused(tmp_path, "is a folder; give a file name inside it")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for target in (blocker / "out.png", blocker / "deeper" / "out.png"):
        _refused(target, "is a file, not a folder")
        _refused(target, "is a file, not a folder", make_folders=True)


def test_the_required_suffix(tmp_path: Path) -> None:
    _refused(tmp_path / "model.pt", r"must be a \.safetensors file", suffix=".safetensors")
    _refused(tmp_path, r"model\.safetensors|out\.safetensors", suffix=".safetensors")  # a folder: a name is suggested


def test_missing_folders_only_where_the_writer_makes_them(tmp_path: Path) -> None:
    deep = tmp_path / "new" / "sub" / "m.safetensors"
    _refused(deep, "does not exist")  # an export needs its folder
    assert check_writable(deep, ".safetensors", make_folders=True) == deep  # a checkpoint's folder is created
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_read_only_folders_and_files(tmp_path: Path, make_read_only) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "old.png").write_bytes(b"old")
    make_read_only(ro)
    _refused(ro / "old.png", "permission denied")
    _refused(ro / "x.png", "permission denied")
    _refused(ro / "new" / "m.safetensors", "permission denied", suffix=".safetensors", make_folders=True)
