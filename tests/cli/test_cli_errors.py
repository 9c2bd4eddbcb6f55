"""Bad input: every mistake is one clear line on stderr, a non-zero exit, and nothing on disk is lost."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

Run = Callable[..., tuple[int, str, str]]
ErrLine = Callable[[int, str], str]


def _corrupt(d: Path, good: Path) -> Path:
    p = d / "corrupt.safetensors"
    p.write_bytes(os.urandom(64) + b"\x00" * 64)
    return p


def _garbage_header(d: Path, good: Path) -> Path:
    p = d / "garbage.safetensors"
    p.write_bytes((20).to_bytes(8, "little") + b"{not json at all!!}" + b"\x00" * 32)
    return p


def _truncated(d: Path, good: Path) -> Path:
    p = d / "truncated.safetensors"
    p.write_bytes(good.read_bytes()[:-100])
    return p


def _foreign(d: Path, good: Path) -> Path:
    p = d / "foreign.safetensors"
    save_file({"weight": torch.zeros(3, 3)}, str(p))
    return p


def _pickle(d: Path, good: Path) -> Path:
    p = d / "model.pt"
    torch.save({"weight": torch.zeros(3)}, p)  # written here, never loaded
    return p


def _empty(d: Path, good: Path) -> Path:
    p = d / "empty.safetensors"
    p.write_bytes(b"")
    return p


BAD_FILES = {"corrupt": (_corrupt, "not a safetensors file"), "garbage header": (_garbage_header, "not valid JSON"),
             "truncated": (_truncated, "truncated"), "foreign": (_foreign, "not an arstudio checkpoint"),
             "pickle": (_pickle, "never unpickles"), "empty": (_empty, "empty or truncated")}


@pytest.mark.parametrize("case", list(BAD_FILES))
@pytest.mark.parametrize("command", ["sample", "eval"])
def test_bad_checkpoint_files(case: str, command: str, cli: Run, one_error_line: ErrLine, trained: dict[str, Path],
                              tmp_path: Path) -> None:
    make, words = BAD_FILES[case]
    bad = make(tmp_path, trained["nade"])
    out = tmp_path / "out.png"
    extra = ["--out", str(out)] if command == "sample" else []
    rc, _, err = cli(command, bad, *extra)
    line = one_error_line(rc, err)
    assert words in line and str(bad) in line
    assert not out.exists()


def test_list_shows_unreadable_files_with_their_reason(cli: Run, user_models: Path, trained: dict[str, Path]
                                                       ) -> None:
    user_models.mkdir()
    _truncated(user_models, trained["nade"])
    _foreign(user_models, trained["nade"])
    rc, out, _ = cli("list")
    assert rc == 0
    assert "2 unreadable" in out
    assert "truncated.safetensors: " in out and "(truncated" in out
    assert "foreign.safetensors" in out and "not an arstudio checkpoint" in out


@pytest.mark.parametrize("argv, words", [
    (["train", "transformer9000"], "unknown model kind 'transformer9000'"),
    (["train", "nade", "--data", "imagenet"], "unknown data set 'imagenet'"),
    (["train", "nade", "--config", "depth=3"], "unknown config key 'depth'"),
    (["train", "nade", "--config", "hidden"], "KEY=VALUE"),
    (["train", "nade", "--steps", "0"], "--steps"),
    (["train", "nade", "--out", "model.pt"], ".safetensors"),
    (["train", "nade", "--device", "cuda:7"], "cuda"),
    (["sample", "no-such-model", "--out", "x.png"], "no checkpoint called 'no-such-model'"),
    (["eval", "nade-digts"], "no checkpoint called 'nade-digts' (did you mean nade-digits"),
    (["bench", "no-such-bench"], "unknown benchmark"),
])
def test_bad_names_and_options(argv: list[str], words: str, cli: Run, one_error_line: ErrLine,
                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    if "--device" in argv and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    rc, _, err = cli(*argv)
    assert words in one_error_line(rc, err)
    assert not list(tmp_path.glob("*.safetensors"))


@pytest.mark.parametrize("options, words", [
    (["--temperature", "-1"], "temperature"), (["--top-p", "1.5"], "--top-p"), (["--top-k", "-2"], "--top-k"),
    (["--n", "0"], "--n"), (["--ordering", "3"], "single ordering"), (["--seed", "x"], "invalid int"),
])
def test_bad_sampling_options_keep_the_existing_file(options: list[str], words: str, cli: Run,
                                                     one_error_line: ErrLine, trained: dict[str, Path],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "keep.png"
    out.write_bytes(b"an earlier export")
    rc, _, err = cli("sample", trained["nade"], "--out", out, *options)
    assert words in one_error_line(rc, err)
    assert out.read_bytes() == b"an earlier export"


def test_usage_errors_exit_2(cli: Run, one_error_line: ErrLine) -> None:
    rc, _, err = cli("sample")
    assert rc == 2 and "CHECKPOINT" in one_error_line(rc, err)


def _parent_is_file(tmp_path: Path) -> Path:
    f = tmp_path / "a-file"
    f.write_text("x")
    return f / "out.png"


@pytest.mark.parametrize("make, words", [
    (_parent_is_file, "is a file, not a folder"),
    (lambda d: d / "missing" / "out.png", "does not exist"),
    (lambda d: d, "is a folder"),
    (lambda d: d / "out.jpg", "written as .png"),
])
def test_unwritable_export_paths(make: Callable[[Path], Path], words: str, cli: Run, one_error_line: ErrLine,
                                 trained: dict[str, Path], tmp_path: Path) -> None:
    rc, _, err = cli("sample", trained["nade"], "--out", make(tmp_path))
    assert words in one_error_line(rc, err)


def test_read_only_export_folder(cli: Run, one_error_line: ErrLine, trained: dict[str, Path], tmp_path: Path,
                                 make_read_only) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "old.png").write_bytes(b"old")
    make_read_only(ro)
    rc, _, err = cli("sample", trained["nade"], "--out", ro / "old.png")
    assert "permission denied" in one_error_line(rc, err)
    assert (ro / "old.png").read_bytes() == b"old"


def test_a_failed_write_does_not_clobber(cli: Run, one_error_line: ErrLine, trained: dict[str, Path],
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "keep.png"
    out.write_bytes(b"an earlier export")

    def disk_full(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"\x89PNG half")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    rc, _, err = cli("sample", trained["nade"], "--out", out)
    assert "No space left on device" in one_error_line(rc, err)
    assert out.read_bytes() == b"an earlier export"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_unwritable_checkpoint_path_fails_before_training(cli: Run, one_error_line: ErrLine, tmp_path: Path
                                                          ) -> None:
    rc, _, err = cli("train", "nade", "--steps", "5", "--out", _parent_is_file(tmp_path).with_suffix(".safetensors"))
    line = one_error_line(rc, err)  # one line: the progress bar never started
    assert "is a file, not a folder" in line
