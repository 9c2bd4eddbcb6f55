"""Every model kind's config dataclass reaches its checkpoint whole, and a stored config builds the same model."""

from __future__ import annotations

import dataclasses
import json

import pytest

from arstudio.core.catalog import SHIPPED_DIR
from arstudio.core.checkpoint import read_meta
from arstudio.core.registry import get, kinds

KINDS = [k.name for k in kinds()]


def _shapes(model: object) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", KINDS)
def test_every_config_field_is_in_the_spec(name: str) -> None:
    kind = get(name)
    assert dataclasses.is_dataclass(kind.cls.config_class), f"{name} has no config dataclass"
    model = kind.build(kind.tiny_config)
    config = model.spec.config
    for f in dataclasses.fields(kind.cls.config_class):
        assert f.name in config, f"{name}: {f.name} is a setting but not in spec.config (it would not be saved)"
    assert isinstance(model.config, kind.cls.config_class)
    json.dumps(config)  # a checkpoint stores it as JSON


@pytest.mark.parametrize("name", KINDS)
def test_a_stored_config_builds_the_same_model(name: str) -> None:
    kind = get(name)
    model = kind.build(kind.tiny_config)
    again = kind.build(json.loads(json.dumps(model.spec.config)))  # as a checkpoint gives it back
    assert again.spec.config == model.spec.config
    assert again.spec.layout.shape == model.spec.layout.shape and again.spec.values == model.spec.values
    assert _shapes(again) == _shapes(model)


@pytest.mark.parametrize("name", KINDS)
def test_an_unknown_key_is_refused_by_name(name: str) -> None:
    kind = get(name)
    with pytest.raises(ValueError, match="unknown config key 'no_such_setting'"):
        kind.build({**kind.tiny_config, "no_such_setting": 1})


def test_a_missing_required_key_is_named() -> None:
    with pytest.raises(ValueError, match="lacks 'shape'"):
        get("nade").cls.from_config({"hidden": 4})


def test_shipped_checkpoint_configs_are_accepted() -> None:
    files = sorted(SHIPPED_DIR.glob("*.safetensors"))
    if not files:
        pytest.skip("no shipped checkpoints in this build")
    for path in files:
        meta = read_meta(path)
        kind = get(meta.kind)
        model = kind.build(meta.config)
        got = model.spec.config
        assert {k: got.get(k) for k in meta.config} == meta.config, path.name  # nothing stored is lost or changed
        defaults = {f.name: f.default for f in dataclasses.fields(kind.cls.config_class)}
        added = {k: v for k, v in got.items() if k not in meta.config}  # settings newer than the file: their defaults
        assert all(k in defaults and v == defaults[k] for k, v in added.items()), (path.name, added)
