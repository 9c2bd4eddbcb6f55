"""Recipes: to and from text, regenerating a run exactly, finding the checkpoint by hash, clear errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from arstudio.core import registry
from arstudio.core.checkpoint import CheckpointError, CheckpointMeta, file_hash, save_checkpoint
from arstudio.core.generate import sample
from arstudio.core.policy import SamplingPolicy
from arstudio.core.replay import Recipe, ReplayError, find_checkpoint, recipe_for_run, regenerate, shown_sample

SHA = "ab" * 32


def tiny(folder: Path, kind: str = "nade", **config) -> Path:
    torch.manual_seed(0)
    model = registry.get(kind).build({"shape": [1, 4, 4], **config})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    return save_checkpoint(folder / f"{kind}-r.safetensors", model, CheckpointMeta(kind=kind, config=model.spec.config))


def test_recipe_round_trips_through_text() -> None:
    r = Recipe(SHA, "nade-digits", "nade", "image", 7, 3, 10, SamplingPolicy(0.5, 3, 0.9), 2,
               [[0, 1], [1, 1], [0, 0]], {5: [1.0, 0.0, 1.0]}, None, "arstudio 0.1")
    text = r.to_text()
    assert all(isinstance(v, str) for v in text.values())
    assert text["arstudio:checkpoint_sha256"] == SHA and text["arstudio:seed"] == "7"
    assert Recipe.from_text(text) == r
    assert list(Recipe.from_text(text).to_text().items()) == list(text.items())  # same order, same bytes


def test_the_shown_sample_is_named_only_when_it_is_not_the_first() -> None:
    first = Recipe(SHA, batch=3)
    assert "arstudio:shown" not in first.to_text()  # files written before the field replay as they did
    third = Recipe(SHA, batch=3, shown=2)
    text = third.to_text()
    assert text["arstudio:shown"] == "2" and Recipe.from_text(text) == third
    assert shown_sample(text, 3) == 2 and shown_sample(first.to_text(), 3) == 0
    with pytest.raises(ValueError, match="sample 3, but the run has 2"):
        shown_sample(text, 2)
    with pytest.raises(ValueError, match="sample 4 was chosen, but the run has 3"):
        recipe_for_run(Path("x.safetensors"), kind="nade", modality="image", seed=0, batch=3,
                       policy=SamplingPolicy(), sha256=SHA, shown=3)


@pytest.mark.parametrize("edit, says", [
    ({"arstudio:shown": "2"}, "arstudio:shown is 2; the run has 2 samples"),
    ({"arstudio:shown": "-1"}, "arstudio:shown is -1"),
    ({"arstudio:seed": "seven"}, "arstudio:seed is 'seven', not a whole number"),
    ({"arstudio:policy": "{temperature"}, "arstudio:policy"),
    ({"arstudio:checkpoint_sha256": "123"}, "not a sha256"),
    ({"arstudio:n": "0"}, "arstudio:n is 0"),
    ({"arstudio:forced": "[1, 2"}, "arstudio:forced is not valid JSON"),
    ({"arstudio:prefix": "[[1], [1, 0]]"}, "arstudio:prefix"),
])
def test_broken_metadata_says_what_is_wrong(edit: dict, says: str) -> None:
    text = {**Recipe(SHA, batch=2).to_text(), **edit}
    with pytest.raises(ReplayError, match="replay metadata is broken") as e:
        Recipe.from_text(text, source="x.png")
    assert says in str(e.value) and str(e.value).startswith("x.png: ") and "\n" not in str(e.value)


def test_missing_metadata() -> None:
    with pytest.raises(ReplayError, match="has no replay metadata"):
        Recipe.from_text({"Software": "GIMP"}, source="a.png")
    text = Recipe(SHA).to_text()
    del text["arstudio:seed"]
    with pytest.raises(ReplayError, match="arstudio:seed missing"):
        Recipe.from_text(text)


@pytest.mark.parametrize("kind, config, ordering", [("nade", {"hidden": 8}, 0), ("made", {"hidden": [16], "num_masks": 3}, 2)])
def test_regenerate_equals_the_run(tmp_path: Path, kind: str, config: dict, ordering: int) -> None:
    path = tiny(tmp_path, kind, **config)
    from arstudio.core.checkpoint import load_checkpoint

    model, _ = load_checkpoint(path)
    policy = SamplingPolicy(0.8, 0, 0.95)
    model.select_ordering(ordering)
    want = sample(model, batch=5, seed=11, policy=policy).numpy()
    r = recipe_for_run(path, kind=kind, modality="image", seed=11, batch=5, policy=policy, ordering=ordering)
    model2, _ = load_checkpoint(path)
    np.testing.assert_array_equal(regenerate(model2, Recipe.from_text(r.to_text())), want)


def test_regenerate_a_branch_and_a_partial_run(tmp_path: Path) -> None:
    from arstudio.core.checkpoint import load_checkpoint

    model, _ = load_checkpoint(tiny(tmp_path, hidden=8))
    prefix = np.array([[1, 0, 1], [0, 0, 0]])
    forced = {3: np.array([1, 1]), 6: 0}
    r = recipe_for_run(tmp_path / "nade-r.safetensors", kind="nade", modality="image", seed=4, batch=2,
                       policy=SamplingPolicy(), steps=9, prefix=prefix, forced=forced)
    out = regenerate(model, Recipe.from_text(r.to_text()))
    assert out.shape == (2, 16)
    assert np.isnan(out[:, 9:]).all() and not np.isnan(out[:, :9]).any()
    np.testing.assert_array_equal(out[:, :3], prefix)
    np.testing.assert_array_equal(out[:, 3], [1, 1])
    np.testing.assert_array_equal(out[:, 6], [0, 0])
    again = regenerate(model, r)
    np.testing.assert_array_equal(np.nan_to_num(out), np.nan_to_num(again))
    assert math.isnan(again[0, 15])


def test_find_checkpoint_by_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(user))
    path = tiny(user, hidden=8)
    renamed = path.rename(user / "renamed.safetensors")
    r = recipe_for_run(renamed, kind="nade", modality="image", seed=0, batch=1, policy=SamplingPolicy())
    r = Recipe(r.checkpoint_sha256, "old-name")
    assert find_checkpoint(r) == renamed
    other = tiny(tmp_path, "fvsbn")
    with pytest.raises(CheckpointError, match="is not the checkpoint the export was made with"):
        find_checkpoint(r, explicit=other)
    with pytest.raises(CheckpointError, match="--checkpoint PATH"):
        find_checkpoint(Recipe(file_hash(other), "gone"))
