"""Modality plug-ins: their formats and units, and the one statement of a kind's modality."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from arstudio.core import registry
from arstudio.core.checkpoint import META_KEY, CheckpointError, CheckpointMeta, load_checkpoint, read_meta, save_checkpoint
from arstudio.core.modality import (FileFormat, Modality, UnknownModalityError, example_unit, get_modality, modalities,
                                    modality_for_suffix, step_unit)
from arstudio.core.replay import ReplayError, read_recipe
from arstudio.data.datasets import dataset_modality, datasets, get_dataset


def test_built_in_modalities_say_their_units_and_formats() -> None:
    found = modalities()
    assert {"image", "text"} <= set(found)
    assert (step_unit("image"), example_unit("image")) == ("dim", "image")
    assert (step_unit("text"), example_unit("text")) == ("token", "window")
    assert step_unit("no-such") == "dim" and example_unit("no-such") == "example"
    assert get_modality("image").suffixes == (".png",)
    assert set(get_modality("text").suffixes) == {".txt", ".json"}
    for m in found.values():
        assert isinstance(m, Modality) and m.panel.count(":") == 1, m.name
        assert all(isinstance(f, FileFormat) and f.file_filter().endswith(")") for f in m.formats)


def test_a_path_picks_its_format_or_says_which_suffixes_there_are(tmp_path: Path) -> None:
    assert get_modality("text").format_for(tmp_path / "a.JSON").suffixes == (".json",)
    with pytest.raises(ValueError, match=r"image samples are written as \.png files"):
        get_modality("image").format_for(tmp_path / "a.wav")
    with pytest.raises(UnknownModalityError, match="installed: .*image.*text"):
        get_modality("smell")
    assert modality_for_suffix(tmp_path / "x.png")[0].name == "image"
    with pytest.raises(ValueError, match="cannot replay .xyz files"):
        modality_for_suffix(tmp_path / "x.xyz")
    (tmp_path / "x.xyz").write_bytes(b"RIFF")
    with pytest.raises(ReplayError, match="replayable: .*png"):
        read_recipe(tmp_path / "x.xyz")


@pytest.mark.parametrize("kind", [k.name for k in registry.kinds()])
def test_a_kind_states_its_modality_once(kind: str, tmp_path: Path) -> None:
    """Registry, layout, checkpoint metadata and the kind's default data set agree, and name an installed modality."""
    k = registry.get(kind)
    assert k.modality in modalities()
    assert dataset_modality(k.default_data) == k.modality
    ds = get_dataset(k.tiny_data or k.default_data)  # a default set may need a tool or minutes to build
    model = k.build({**ds.model_config(), **k.tiny_config})
    assert model.spec.layout.modality == k.modality
    path = save_checkpoint(tmp_path / "m.safetensors", model, CheckpointMeta(kind=kind, config=model.spec.config))
    meta = read_meta(path)
    assert meta.extra["modality"] == meta.modality == k.modality


def test_a_checkpoint_claiming_another_modality_is_refused(tmp_path: Path) -> None:
    model = registry.get("nade").build({"shape": [1, 4, 4], "hidden": 3})
    meta = CheckpointMeta(kind="nade", config=model.spec.config, extra={"modality": "text"})
    path = tmp_path / "odd.safetensors"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={META_KEY: json.dumps(meta.__dict__)})  # written by hand, not by us
    with pytest.raises(CheckpointError, match="records the modality 'text', but nade models are 'image'"):
        load_checkpoint(path)
    fixed = save_checkpoint(tmp_path / "fixed.safetensors", model, meta)  # saving states the kind's modality
    assert read_meta(fixed).modality == "image"
    assert torch.equal(load_checkpoint(fixed)[0].W, model.W)


def test_data_sets_are_listed_by_modality() -> None:
    assert {"digits", "digits17", "glyphs28", "shapes32"} <= set(datasets("image"))
    assert set(datasets("text")) >= {"pydoc", "pydoc-chars"} and not set(datasets("text")) & set(datasets("image"))
    assert set(datasets()) == {d for m in modalities() for d in datasets(m)}  # each set under its own modality


def test_import_file_of_each_modality(tmp_path: Path) -> None:
    from PIL import Image

    spec = registry.get("nade").build({"shape": [1, 8, 8], "hidden": 3}).spec
    a = np.zeros((8, 8), dtype=np.uint8)
    a[2:6, 3:5] = 255
    Image.fromarray(a).save(tmp_path / "d.png")
    v = get_modality("image").import_file(tmp_path / "d.png", spec)
    assert v.shape == (64,) and set(np.unique(v)) <= {0, 1} and v.sum() == 8
    text_spec = registry.get("char_rnn").build({**get_dataset("pydoc-chars").model_config(),
                                                **registry.get("char_rnn").tiny_config}).spec
    (tmp_path / "t.txt").write_text("def f(x): return x", encoding="utf-8")
    ids = get_modality("text").import_file(tmp_path / "t.txt", text_spec)
    assert ids.dtype == np.int64 and len(ids) == min(len("def f(x): return x"), text_spec.layout.length)
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        get_modality("text").import_file(tmp_path / "b.txt", text_spec)
