"""Class 1: one bad file in a checkpoint folder never stops `list`, name lookup or the studio's start.

Listing skips it with one line naming it; loading it refuses it with a clear message; a mistyped
name gets "no checkpoint called X (did you mean Y?)".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from arstudio.core import catalog
from arstudio.core.checkpoint import CheckpointError, load_checkpoint, read_meta

from .conftest import Run, one_line, rewrite_meta, tiny_checkpoint, write_raw

W = {"w": torch.zeros(2)}
DEEP = "[" * 100_000 + "]" * 100_000
# valid JSON of the wrong shape, and JSON nested past any sane depth, as a checkpoint's metadata
BAD_META: dict[str, tuple[Any, str]] = {
    "kind is a dict": ({"kind": {"a": 1}, "config": {}}, "'kind'"),
    "config is a string": ({"kind": "nade", "config": "hidden=8"}, "'config'"),
    "config is a list": ({"kind": "nade", "config": [1, 2]}, "'config'"),
    "data is a string": ({"kind": "nade", "config": {}, "data": "digits"}, "'data'"),
    "data name is a dict": ({"kind": "nade", "config": {}, "data": {"name": {"x": 1}}}, "'data.name'"),
    "split is a string": ({"kind": "nade", "config": {}, "data": {"split": {"test": "1,2"}}}, "'data.split.test'"),
    "metrics hold a string": ({"kind": "nade", "config": {}, "metrics": {"test_nats": "low"}}, "metric"),
    "history is not numbers": ({"kind": "nade", "config": {}, "history": {"step": ["a"]}}, "history"),
    "recipe is a list": ({"kind": "nade", "config": {}, "recipe": ["arstudio"]}, "'recipe'"),
    "version is a string": ({"kind": "nade", "config": {}, "version": "1"}, "'version'"),
    "version is a bool": ({"kind": "nade", "config": {}, "version": True}, "'version'"),
    "extra is a list": ({"kind": "nade", "config": {}, "extra": []}, "'extra'"),
    "train_state is a string": ({"kind": "nade", "config": {}, "extra": {"train_state": "x"}}, "train_state"),
    "step is a string": ({"kind": "nade", "config": {}, "extra": {"train_state": {"step": "3"}}}, "step"),
    "modality is a number": ({"kind": "nade", "config": {}, "extra": {"modality": 3}}, "modality"),
    "top level is a list": ([1, 2, 3], "lacks 'kind'"),
    "top level is a string": ("nade", "lacks 'kind'"),
    "deep nesting": (None, "nested"),
    "deep but parseable": ({"kind": "nade", "config": {"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}},
                           "nested"),
}


def _bad(folder: Path, case: str) -> Path:
    meta, _ = BAD_META[case]
    path = folder / f"{case.replace(' ', '-')}.safetensors"
    if case == "deep nesting":
        return write_raw(path, W, raw_meta='{"kind": "nade", "config": ' + DEEP + "}")
    return write_raw(path, W, meta)


@pytest.mark.parametrize("case", list(BAD_META))
def test_metadata_of_the_wrong_shape_is_refused_in_one_line(case: str, tmp_path: Path) -> None:
    path = _bad(tmp_path, case)
    with pytest.raises(CheckpointError) as e:
        read_meta(path)
    msg = str(e.value)
    assert str(path) in msg and BAD_META[case][1] in msg and "\n" not in msg
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_list_skips_every_bad_file_with_one_line_naming_it(cli: Run, user_models: Path) -> None:
    good = tiny_checkpoint(user_models, name="good")
    bad = [_bad(user_models, case) for case in BAD_META]
    (user_models / "noise.safetensors").write_bytes(os.urandom(300))
    os.mkfifo(user_models / "pipe.safetensors")  # would block a plain open() forever
    (user_models / "folder.safetensors").mkdir()
    (user_models / "loop.safetensors").symlink_to(user_models / "loop.safetensors")
    rc, out, err = cli("list")
    assert rc == 0 and "Traceback" not in err
    assert f"{len(bad) + 4} unreadable file(s)" in out
    lines = out.splitlines()
    for p in [*bad, user_models / "pipe.safetensors", user_models / "loop.safetensors"]:
        assert sum(ln.strip().startswith(str(p)) for ln in lines) == 1, p
    assert any(ln.startswith("good ") for ln in lines)
    rc, out, _ = cli("list", "--json")
    assert rc == 0 and out.count('"error"') == len(bad) + 4 and good.stem in out


def test_catalog_entries_carry_the_error_and_the_good_ones_load(user_models: Path) -> None:
    tiny_checkpoint(user_models, name="good")
    _bad(user_models, "deep nesting")
    os.mkfifo(user_models / "pipe.safetensors")
    entries = {e.name: e for e in catalog.list_checkpoints() if e.source == "user"}
    assert entries["good"].meta is not None
    assert entries["pipe"].meta is None and "named pipe" in str(entries["pipe"].error)
    assert entries["deep-nesting"].meta is None and "nested" in str(entries["deep-nesting"].error)


@pytest.mark.parametrize("case", ["kind is a dict", "deep nesting", "train_state is a string"])
def test_loading_a_bad_file_by_name_refuses_it(case: str, cli: Run, user_models: Path, tmp_path: Path) -> None:
    path = _bad(user_models, case)
    rc, _, err = cli("sample", path.stem, "--out", tmp_path / "x.png")
    one_line(rc, err, str(path))
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("typo, near", [("nade-digts", "nade-digits"), ("pixelcnn-glyph28", "pixelcnn-glyphs28"),
                                        ("mine", "mine2")])
def test_a_mistyped_name_suggests_the_nearest(typo: str, near: str, cli: Run, user_models: Path) -> None:
    tiny_checkpoint(user_models, name="mine2")
    _bad(user_models, "config is a string")  # a bad file among them changes nothing
    with pytest.raises(CheckpointError, match=f"no checkpoint called '{typo}' \\(did you mean {near}"):
        catalog.resolve(typo)
    rc, _, err = cli("eval", typo)
    one_line(rc, err, f"no checkpoint called '{typo}'", near)


def test_a_name_like_nothing_lists_what_there_is(user_models: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint called 'zzzzzzzz' \\(available: .*nade-digits"):
        catalog.resolve("zzzzzzzz")
    with pytest.raises(CheckpointError, match="no such file"):
        catalog.resolve(str(user_models / "missing.safetensors"))


def test_an_unreadable_file_is_listed_and_refused(user_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tiny_checkpoint(user_models, name="secret")
    real_open = os.open

    def deny(p: Any, *args: Any, **kwargs: Any) -> int:
        if Path(os.fspath(p)).name == path.name:
            raise PermissionError(13, "Permission denied", os.fspath(p))
        return real_open(p, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)  # root ignores chmod 000: refuse as the OS would for a user
    entry = next(e for e in catalog.list_checkpoints() if e.name == "secret")
    assert entry.meta is None and "permission denied" in str(entry.error) and str(path) in str(entry.error)


def test_edited_metadata_of_a_real_checkpoint_is_refused(nade: Path, tmp_path: Path) -> None:
    def edit(meta: dict[str, Any]) -> dict[str, Any]:
        meta["config"]["hidden"] = "eight"
        return meta

    bad = rewrite_meta(nade, tmp_path / "edited.safetensors", edit)
    with pytest.raises(CheckpointError, match="'hidden' must be a whole number"):
        load_checkpoint(bad)


def test_the_studio_starts_past_a_bad_file(qtbot: Any, user_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARSTUDIO_SAMPLER", "thread")
    from arstudio.qt.main_window import MainWindow

    for case in ("kind is a dict", "deep nesting", "metrics hold a string"):
        _bad(user_models, case)
    os.mkfifo(user_models / "pipe.safetensors")
    w = MainWindow(user_models / "pipe.safetensors")  # opening the FIFO itself: a message, not a hang
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: "named pipe" in w.last_error, timeout=30000)
    w.close()
