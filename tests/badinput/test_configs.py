"""Class 4b: configs (a checkpoint's, `train --config`, a GPT-2 config.json) are checked for types and ranges, and
against the tensors' shapes, before any module is built; recipes are checked against the model they replay.
"""

from __future__ import annotations

import json
import resource
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image, PngImagePlugin

from arstudio.core.checkpoint import CheckpointError, load_checkpoint
from arstudio.core.validate import check_config

from .conftest import Run, one_line, rewrite_meta, tiny_checkpoint


def _with_config(src: Path, out: Path, **changes: Any) -> Path:
    return rewrite_meta(src, out, lambda m: {**m, "config": {**m["config"], **changes}})


@pytest.mark.parametrize("kind, changes, words", [
    ("gpt", {"n_head": 0}, "'n_head' must be >= 1"),
    ("gpt", {"n_layer": 2.7}, "'n_layer' must be a whole number"),
    ("gpt", {"n_layer": "3"}, "'n_layer' must be a whole number"),
    ("gpt", {"n_layer": True}, "'n_layer' must be a whole number"),
    ("gpt", {"n_layer": 1_000_000}, "'n_layer' must be <= 1024"),
    ("gpt", {"layer_norm_epsilon": -1e-5}, "'layer_norm_epsilon' must be"),
    ("gpt", {"dropout": 1.5}, "'dropout' must be below 1"),
    ("gpt", {"bias": "yes"}, "'bias' must be true or false"),
    ("gpt", {"n_embd": 15}, "multiple of n_head"),
    ("nade", {"hidden": -8}, "'hidden' must be >= 0"),
    ("nade", {"hidden": 1e9}, "'hidden' must be a whole number"),
    ("nade", {"shape": [1, "3", 3]}, "'shape'[1] must be a whole number"),
    ("nade", {"shape": [1, 100000, 100000]}, "more than"),
    ("made", {"hidden": [16, -16]}, "'hidden'[1] must be >= 0"),
    ("made", {"hidden": 16}, "'hidden' must be a list"),
])
def test_a_bad_checkpoint_config_is_refused_in_one_line(kind: str, changes: dict[str, Any], words: str,
                                                        user_models: Path, tmp_path: Path, cli: Run) -> None:
    good = tiny_checkpoint(user_models, kind, **({"vocab_size": 16} if kind == "gpt" else {}))
    bad = _with_config(good, tmp_path / "bad.safetensors", **changes)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(bad)
    assert words in str(e.value) and str(bad) in str(e.value)
    rc, _, err = cli("sample", bad, "--out", tmp_path / "x.png")
    one_line(rc, err, str(bad))


def test_a_config_far_larger_than_its_tensors_is_refused_before_building(nade: Path, tmp_path: Path) -> None:
    bad = _with_config(nade, tmp_path / "huge.safetensors", hidden=1 << 23, shape=[1, 64, 64])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CheckpointError, match="tensors do not match its nade config"):
        load_checkpoint(bad)  # 2**23 x 4096 floats would be 128 GiB: checked on the meta device first
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KiB


@pytest.mark.parametrize("entry, words", [
    ({"dtype": "F32", "data_offsets": [0, 8]}, "no valid shape"),
    ({"dtype": "F32", "shape": "2", "data_offsets": [0, 8]}, "no valid shape"),
    ({"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}, "no valid shape"),
    ({"dtype": "F99", "shape": [2], "data_offsets": [0, 8]}, "no known dtype"),
    ({"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}, "needs 12"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [0, "8"]}, "no valid data offsets"),
    ("tensor", "not an object"),
])
def test_a_tensor_entry_of_the_wrong_shape_is_refused(entry: Any, words: str, tmp_path: Path) -> None:
    header = json.dumps({"w": entry, "__metadata__": {"arstudio": json.dumps({"kind": "nade", "config": {}})}})
    p = tmp_path / "bad.safetensors"
    p.write_bytes(len(header).to_bytes(8, "little") + header.encode() + b"\0" * 8)
    with pytest.raises(CheckpointError, match=words):
        load_checkpoint(p)


def test_metadata_that_is_not_strings_is_refused(tmp_path: Path) -> None:
    header = json.dumps({"__metadata__": {"arstudio": {"kind": "nade"}}})
    p = tmp_path / "bad.safetensors"
    p.write_bytes(len(header).to_bytes(8, "little") + header.encode())
    with pytest.raises(CheckpointError, match="not a map of strings"):
        load_checkpoint(p)


@pytest.mark.parametrize("value, words", [("2.7", "whole number"), ('"3"', "whole number"), ("true", "whole number"),
                                          ("-5", ">= 0"), ("1e30", "whole number"), ("[[[[1]]]]", "whole number")])
def test_train_refuses_bad_config_values(value: str, words: str, cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "t.safetensors"
    rc, _, err = cli("train", "nade", "--steps", "1", "--config", f"hidden={value}", "--out", out)
    one_line(rc, err, "nade config 'hidden'", words)
    assert not out.exists()


def test_check_config_leaves_good_configs_alone() -> None:
    from arstudio.core import registry

    for kind in registry.kinds():
        cls = getattr(kind.cls, "config_class", None)
        check_config(cls, {**kind.default_config, **kind.tiny_config}, kind.name)


# ---- GPT-2 folders ---------------------------------------------------------------------------------------
def _gpt2(src: Path, dst: Path, **changes: Any) -> Path:
    shutil.copytree(src, dst)
    c = json.loads((dst / "config.json").read_text())
    c.update(changes)
    (dst / "config.json").write_text(json.dumps(c))
    return dst


@pytest.mark.parametrize("changes, words", [
    ({"n_layer": 1_000_000}, "'n_layer' must be <= 1024"),
    ({"n_layer": 2.7}, "'n_layer' must be a whole number"),
    ({"n_head": "4"}, "'n_head' must be a whole number"),
    ({"n_head": 0}, "'n_head' must be >= 1"),
    ({"n_embd": 30}, "multiple of n_head"),
    ({"layer_norm_epsilon": -1e-5}, "'layer_norm_epsilon' must be"),
    ({"vocab_size": 1 << 30}, "'vocab_size' must be <="),
    ({"n_positions": None}, "'block_size' must be a whole number"),
])
def test_a_bad_gpt2_config_is_refused_before_building(gpt2_folder: Path, tmp_path: Path, changes: dict[str, Any],
                                                      words: str) -> None:
    from arstudio.models.gpt2_import import GPT2ImportError, load_gpt2

    d = _gpt2(gpt2_folder, tmp_path / "g", **changes)
    with pytest.raises(GPT2ImportError, match=words) as e:
        load_gpt2(d)
    assert "config.json" in str(e.value)


def test_a_gpt2_config_larger_than_its_tensors_is_refused_before_building(gpt2_folder: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from arstudio.models import gpt2_import
    from arstudio.models.gpt2_import import GPT2ImportError, load_gpt2

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a model was built before the sizes were checked")

    monkeypatch.setattr(gpt2_import.GPT, "from_config", never)
    d = _gpt2(gpt2_folder, tmp_path / "g", n_layer=1000, n_embd=4096, n_head=4)
    with pytest.raises(GPT2ImportError, match="does not match config.json: n_layer is 1000"):
        load_gpt2(d)  # 1000 layers of 4096 would be 800 GB: refused from the tensors' shapes alone


@pytest.mark.parametrize("shard", ["../outside.safetensors", "/etc/passwd", "sub/../../x.safetensors", ""])
def test_gpt2_shards_must_stay_inside_the_folder(gpt2_folder: Path, tmp_path: Path, shard: str) -> None:
    from arstudio.models.gpt2_import import GPT2ImportError, load_gpt2

    d = _gpt2(gpt2_folder, tmp_path / "g")
    (d / "model.safetensors").rename(tmp_path / "outside.safetensors")
    (d / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"wte.weight": shard}}))
    with pytest.raises(GPT2ImportError, match="not a file inside"):
        load_gpt2(d)


def test_gpt2_integer_weights_and_special_config_files(gpt2_folder: Path, tmp_path: Path) -> None:
    import os

    from safetensors.torch import load_file, save_file

    from arstudio.models.gpt2_import import GPT2ImportError, load_gpt2

    d = _gpt2(gpt2_folder, tmp_path / "g")
    t = load_file(str(d / "model.safetensors"))
    name = next(k for k in t if k.endswith("wte.weight"))
    t[name] = t[name].to(torch.int64)
    save_file(t, str(d / "model.safetensors"))
    with pytest.raises(GPT2ImportError, match="is stored as I64"):
        load_gpt2(d)
    d2 = _gpt2(gpt2_folder, tmp_path / "g2")
    (d2 / "config.json").unlink()
    os.mkfifo(d2 / "config.json")
    with pytest.raises(GPT2ImportError, match="no config.json|named pipe"):
        load_gpt2(d2)


# ---- replay recipes against the model -------------------------------------------------------------------------
def _edit(src: Path, dst: Path, **edits: str) -> Path:
    im = Image.open(src)
    info = PngImagePlugin.PngInfo()
    for k, v in {**im.text, **{f"arstudio:{k}": v for k, v in edits.items()}}.items():
        info.add_text(k, v)
    im.save(dst, pnginfo=info)
    return dst


@pytest.mark.parametrize("edits, words", [
    ({"n": "5000"}, "a replay makes 1 to 4096 samples"),
    ({"n": "0"}, "a replay makes 1 to 4096 samples"),
    ({"seed": str(2**64)}, "seeds are whole numbers"),
    ({"seed": "-3"}, "seeds are whole numbers"),
    ({"steps": "100000"}, "the model's run has 9"),
    ({"forced": '{"50": [1, 1]}'}, "step 50, outside the run"),
    ({"forced": '{"-1": [1, 1]}'}, "steps count from 0"),
    ({"forced": '{"2": [7, 1]}'}, "whole numbers from 0 to 1"),
    ({"forced": '{"2": [-1, 0]}'}, "whole numbers from 0 to 1"),
    ({"forced": '{"2": [0.5, 0]}'}, "whole numbers from 0 to 1"),
    ({"prefix": "[[0, 3], [1, 1]]"}, "whole numbers from 0 to 1"),
    ({"prefix": "[[0, -1], [1, 1]]"}, "whole numbers from 0 to 1"),
    ({"prefix": "[" * 5000 + "]" * 5000}, "nested"),
    ({"cond": "[1, 2]"}, "the model is unconditional"),
    ({"policy": '{"temperature": 1, "top_k": 0, "top_p": ' + "[" * 3000 + "]" * 3000 + "}"}, "nested"),
])
def test_replay_checks_the_recipe_against_the_model(edits: dict[str, str], words: str, cli: Run, nade: Path,
                                                    tmp_path: Path) -> None:
    first = tmp_path / "a.png"
    assert cli("sample", nade, "--out", first, "--n", "2")[0] == 0
    bad = _edit(first, tmp_path / "bad.png", **edits)
    rc, _, err = cli("replay", bad, "--out", tmp_path / "c.png", "--checkpoint", nade)
    one_line(rc, err, str(bad), words)
    assert not (tmp_path / "c.png").exists()


def test_replay_says_whether_the_copy_matches(cli: Run, nade: Path, tmp_path: Path) -> None:
    first, copy = tmp_path / "a.png", tmp_path / "b.png"
    assert cli("sample", nade, "--out", first, "--n", "2", "--seed", "4")[0] == 0
    rc, out, err = cli("replay", first, "--out", copy, "--checkpoint", nade)
    assert rc == 0 and "matches the file byte for byte" in out and not err
    edited = _edit(first, tmp_path / "edited.png", seed="5")
    rc, out, err = cli("replay", edited, "--out", copy, "--checkpoint", nade)
    assert rc == 0 and "DIFFERS" in out
    assert err.count("\n") == 1 and "warning" in err and str(edited) in err


def test_png_text_is_read_without_decoding_pixels(tmp_path: Path) -> None:
    from arstudio.io.png import read_png_text

    big = tmp_path / "bomb.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("arstudio:seed", "3")
    info.add_itxt("arstudio:policy", "{}", zip=True)
    Image.new("1", (30000, 30000)).save(big, pnginfo=info)  # 900 Mpx: past Pillow's bomb limit
    assert read_png_text(big) == {"arstudio:seed": "3", "arstudio:policy": "{}"}
    (tmp_path / "cut.png").write_bytes(big.read_bytes()[:60])
    with pytest.raises(Exception, match="not a readable PNG"):
        read_png_text(tmp_path / "cut.png")

