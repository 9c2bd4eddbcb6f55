"""Checkpoints: round trip, and a clear refusal for every kind of bad file."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors.torch import save_file

from arstudio.core import CheckpointError, CheckpointMeta, load_checkpoint, read_meta, save_checkpoint
from arstudio.core.registry import get


@pytest.fixture
def ckpt(tmp_path):
    m = get("nade").build({"shape": [1, 4, 4], "hidden": 8})
    meta = CheckpointMeta(kind="nade", config=m.spec.config, data={"name": "x"}, metrics={"test_nats": 1.5},
                          recipe="arstudio train nade")
    return save_checkpoint(tmp_path / "nade.safetensors", m, meta), m


def test_round_trip_keeps_weights_and_metadata(ckpt) -> None:
    path, m = ckpt
    loaded, meta = load_checkpoint(path)
    assert meta.metrics == {"test_nats": 1.5} and meta.recipe == "arstudio train nade"
    for k, v in m.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    assert read_meta(path).kind == "nade"


def test_pickle_is_refused_without_unpickling(tmp_path) -> None:
    p = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, p)  # a zip-format pickle
    with pytest.raises(CheckpointError, match="never unpickles"):
        load_checkpoint(p)
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(legacy)


def test_truncated_and_corrupt_files(ckpt, tmp_path) -> None:
    path, _ = ckpt
    data = path.read_bytes()
    cases = {
        "empty.safetensors": b"",
        "short.safetensors": data[:5],
        "truncated.safetensors": data[: len(data) - 40],
        "header_cut.safetensors": data[:30],
        "garbage.safetensors": struct.pack("<Q", 10) + b"\xff" * 10 + b"\x00" * 16,
    }
    for name, raw in cases.items():
        p = tmp_path / name
        p.write_bytes(raw)
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(p)
        assert str(e.value).startswith(str(p)) and "\n" not in str(e.value), name


def test_foreign_safetensors_is_refused(tmp_path) -> None:
    p = tmp_path / "foreign.safetensors"
    save_file({"a": torch.zeros(3)}, str(p))
    with pytest.raises(CheckpointError, match="not an arstudio checkpoint"):
        load_checkpoint(p)


def test_unknown_kind_and_shape_mismatch(ckpt, tmp_path) -> None:
    path, m = ckpt
    tensors = {k: v for k, v in m.state_dict().items()}
    bad_kind = tmp_path / "bad_kind.safetensors"
    save_file(tensors, str(bad_kind), metadata={"arstudio": json.dumps({"kind": "wavenet9", "config": {}})})
    with pytest.raises(CheckpointError, match="unknown model kind 'wavenet9'"):
        load_checkpoint(bad_kind)
    wrong = tmp_path / "wrong.safetensors"
    cfg = dict(m.spec.config, hidden=9)
    save_file(tensors, str(wrong), metadata={"arstudio": json.dumps({"kind": "nade", "config": cfg})})
    with pytest.raises(CheckpointError, match=r"W has shape \[8, 16\], the config needs \[9, 16\]"):
        load_checkpoint(wrong)
    missing = tmp_path / "missing.safetensors"
    save_file({"W": tensors["W"]}, str(missing), metadata={"arstudio": json.dumps({"kind": "nade", "config": m.spec.config})})
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(missing)


def test_save_is_atomic_and_reports_unwritable_paths(ckpt, tmp_path) -> None:
    path, m = ckpt
    before = path.read_bytes()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CheckpointError, match="could not be written"):
        save_checkpoint(blocker / "sub" / "m.safetensors", m, CheckpointMeta(kind="nade", config=m.spec.config))
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_header_length_starting_like_a_pickle_is_still_safetensors(tmp_path) -> None:
    """A header of 640 bytes starts the file with 0x80 0x02, a pickle's protocol-2 marker."""
    m = get("nade").build({"shape": [1, 2, 2], "hidden": 2})
    for pad in range(0, 400):
        meta = CheckpointMeta(kind="nade", config=m.spec.config, recipe="x" * pad)
        p = save_checkpoint(tmp_path / "m.safetensors", m, meta)
        if p.read_bytes()[:2] == b"\x80\x02":
            break
    else:
        pytest.fail("no padding gave a header of 640 bytes")
    loaded, meta = load_checkpoint(p)
    assert meta.recipe == "x" * pad


def test_file_hash_of_a_checkpoint_folder(tmp_path) -> None:
    from arstudio.core.checkpoint import file_hash

    d = tmp_path / "gpt2"
    d.mkdir()
    (d / "config.json").write_text("{}")
    (d / "model.safetensors").write_bytes(b"abc")
    first = file_hash(d)
    assert first == file_hash(d) and len(first) == 64
    (d / "model.safetensors").write_bytes(b"abd")
    assert file_hash(d) != first
