"""Class 4a: only regular files are read, each with a size limit: a FIFO, a folder, /dev/zero, a socket or a
symlink loop given as a checkpoint, a text, an export to replay or `bench --from` is refused in one line
naming it (a FIFO would block forever, /dev/zero never ends).
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from arstudio.core import files
from arstudio.core.checkpoint import CheckpointError, file_hash, read_header

from .conftest import Run, one_line

Special = Callable[[Path], Path]


def fifo(d: Path) -> Path:
    p = d / "pipe.safetensors"
    os.mkfifo(p)
    return p


def folder(d: Path) -> Path:
    p = d / "dir.safetensors"
    p.mkdir()
    return p


def dev_zero(d: Path) -> Path:
    p = d / "zero.safetensors"
    p.symlink_to("/dev/zero")
    return p


def loop(d: Path) -> Path:
    p = d / "loop.safetensors"
    p.symlink_to(p)
    return p


def dangling(d: Path) -> Path:
    p = d / "dangling.safetensors"
    p.symlink_to(d / "nowhere")
    return p


def sock(d: Path) -> Path:
    p = d / "s.safetensors"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(p))
    s.close()
    return p


SPECIAL: dict[str, tuple[Special, str]] = {
    "fifo": (fifo, "named pipe"), "dev/zero": (dev_zero, "character device"), "loop": (loop, "symbolic link loop"),
    "dangling": (dangling, "broken symbolic link"), "socket": (sock, "socket")}


@pytest.mark.parametrize("case", list(SPECIAL))
def test_reading_a_special_file_is_refused_without_blocking(case: str, tmp_path: Path) -> None:
    make, words = SPECIAL[case]
    p = make(tmp_path)
    for read in (lambda: files.read_bytes(p, "json"), lambda: files.read_text(p), lambda: files.open_regular(p)):
        with pytest.raises(files.InputFileError, match=words) as e:
            read()
        assert str(p) in str(e.value)
    with pytest.raises(CheckpointError, match=words):
        read_header(p)
    with pytest.raises(CheckpointError, match=words):
        file_hash(p)


@pytest.mark.parametrize("case", [*SPECIAL, "folder"])
def test_sample_and_eval_refuse_a_special_checkpoint(case: str, cli: Run, tmp_path: Path) -> None:
    make, words = SPECIAL.get(case, (folder, "folder"))
    p = make(tmp_path)
    rc, _, err = cli("sample", p, "--out", tmp_path / "x.png")
    one_line(rc, err, str(p), words)
    rc, _, err = cli("eval", p)
    one_line(rc, err, str(p))


@pytest.mark.parametrize("case", ["fifo", "dev/zero", "loop"])
def test_replay_refuses_a_special_export_and_checkpoint(case: str, cli: Run, nade: Path, tmp_path: Path) -> None:
    make, words = SPECIAL[case]
    d = tmp_path / "special"
    d.mkdir()
    p = make(d).rename(d / "export.png") if case != "loop" else d / "export.png"
    if case == "loop":
        p.symlink_to(p)
    rc, _, err = cli("replay", p, "--out", tmp_path / "copy.png")
    one_line(rc, err, str(p), words)
    good = tmp_path / "a.png"
    assert cli("sample", nade, "--out", good, "--n", "1")[0] == 0
    d2 = tmp_path / "special2"
    d2.mkdir()
    ck = make(d2)
    rc, _, err = cli("replay", good, "--out", tmp_path / "copy.png", "--checkpoint", ck)
    one_line(rc, err, str(ck))


@pytest.mark.parametrize("case", ["fifo", "dev/zero", "loop"])
def test_bench_from_refuses_special_files(case: str, cli: Run, tmp_path: Path) -> None:
    p = SPECIAL[case][0](tmp_path)
    rc, _, err = cli("bench", "--from", p)
    one_line(rc, err, str(p), SPECIAL[case][1])


def test_bench_from_garbage_names_the_file(cli: Run, tmp_path: Path) -> None:
    p = tmp_path / "results.jsonl"
    p.write_text('{"name": 1}\n' + "[" * 50000 + "]" * 50000 + "\n")
    rc, _, err = cli("bench", "--from", p)
    one_line(rc, err, str(p), "line 1")


def test_eval_text_refuses_dev_zero_a_fifo_and_non_utf8(cli: Run, user_models: Path, tmp_path: Path) -> None:
    from .conftest import tiny_checkpoint

    gpt = tiny_checkpoint(user_models, "gpt", vocab_size=16)
    for p, words in ((Path("/dev/zero"), "character device"), (fifo(tmp_path), "named pipe")):
        rc, _, err = cli("eval", gpt, "--text", p)
        one_line(rc, err, str(p), words)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9 au lait")
    rc, _, err = cli("eval", gpt, "--text", bad)
    one_line(rc, err, str(bad), "not UTF-8", "offset 3")


def test_the_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "big.json"
    with open(p, "wb") as f:
        f.truncate(files.LIMITS["json"] + 1)  # sparse: costs no disk
    with pytest.raises(files.InputFileError, match="more than the 64.0 MiB a JSON file may be"):
        files.read_bytes(p, "json")
    assert files.read_bytes(p, "json", limit=files.LIMITS["json"] + 1) is not None


def test_os_errors_name_the_file(tmp_path: Path) -> None:
    p = tmp_path / "x"
    assert files.describe_os_error(p, OSError(errno.EIO, "Input/output error")) == \
        f"{p}: cannot be read (input/output error: the disk or file system failed)"
    assert "permission denied" in files.describe_os_error(p, PermissionError(errno.EACCES, "no"))
    assert files.describe_os_error(p, FileNotFoundError(errno.ENOENT, "no")) == f"{p}: no such file"


def test_an_io_error_from_the_cli_names_its_file(cli: Run, nade: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import arstudio.core.catalog as catalog

    def fail(_: object) -> Path:
        raise OSError(errno.EIO, "Input/output error", str(nade))

    monkeypatch.setattr(catalog, "resolve", fail)
    rc, _, err = cli("sample", "anything", "--out", tmp_path / "x.png")
    one_line(rc, err, str(nade), "input/output error")
