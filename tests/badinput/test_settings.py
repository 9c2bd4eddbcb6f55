"""Class 3: every numeric setting is checked (finite, in range, not too small to compute with); weights
that are not finite floats are refused on load, naming the tensor; training stops on a non-finite loss.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin

from arstudio.core.checkpoint import CheckpointError, load_checkpoint
from arstudio.core.policy import MIN_TEMPERATURE, SamplingPolicy
from arstudio.train.fit import TrainConfig, TrainingDiverged, train_kind

from .conftest import Run, one_line, rewrite_meta, write_raw


@pytest.mark.parametrize("kwargs, words", [
    ({"temperature": math.nan}, "temperature must be a finite number"),
    ({"temperature": math.inf}, "temperature must be a finite number"),
    ({"temperature": 1e-300}, "temperature must be 0 (greedy) or at least"),
    ({"temperature": -0.5}, "temperature must be >= 0"),
    ({"temperature": 1e6}, "temperature must be <="),
    ({"temperature": "1"}, "temperature must be a number"),
    ({"top_p": 1e-300}, "top_p must be >="),
    ({"top_p": math.nan}, "top_p must be a finite number"),
    ({"top_p": 0.0}, "top_p must be >="),
    ({"top_p": 1.5}, "top_p must be <= 1"),
    ({"top_k": -1}, "top_k must be >= 0"),
    ({"top_k": 2.7}, "top_k must be a whole number"),
    ({"top_k": True}, "top_k must be a whole number"),
])
def test_sampling_policy_refuses_bad_values(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError) as e:
        SamplingPolicy(**kwargs)
    assert words in str(e.value)


def test_the_smallest_allowed_settings_still_sample_real_values() -> None:
    logits = torch.randn(4, 10) * 30
    for policy in (SamplingPolicy(temperature=MIN_TEMPERATURE), SamplingPolicy(top_p=1e-3),
                   SamplingPolicy(temperature=MIN_TEMPERATURE, top_k=1, top_p=1e-3)):
        x = policy.sample_categorical(logits, torch.Generator().manual_seed(0))
        assert torch.equal(x, logits.argmax(-1))  # that sharp a policy is the argmax, never garbage


@pytest.mark.parametrize("option, value, words", [
    ("--temperature", "nan", "--temperature must be a finite number"),
    ("--temperature", "1e-300", "--temperature must be 0 (greedy)"),
    ("--top-p", "1e-300", "--top-p must be >="),
    ("--top-p", "inf", "--top-p must be a finite number"),
    ("--seed", str(2**64), "--seed must be <="),
    ("--seed", "-1", "--seed must be >= 0"),
])
def test_sample_refuses_bad_settings_before_loading(option: str, value: str, words: str, cli: Run, nade: Path,
                                                    tmp_path: Path) -> None:
    rc, _, err = cli("sample", nade, "--out", tmp_path / "x.png", f"{option}={value}")
    one_line(rc, err, words)
    assert not (tmp_path / "x.png").exists()


def _edit_png(src: Path, dst: Path, key: str, value: str) -> Path:
    im = Image.open(src)
    info = PngImagePlugin.PngInfo()
    for k, v in {**im.text, key: value}.items():
        info.add_text(k, v)
    im.save(dst, pnginfo=info)
    return dst


@pytest.mark.parametrize("policy, words", [
    ('{"temperature": NaN, "top_k": 0, "top_p": 1.0}', "temperature must be a finite number"),
    ('{"temperature": 1e-300, "top_k": 0, "top_p": 1.0}', "temperature must be 0 (greedy)"),
    ('{"temperature": 1.0, "top_k": 0, "top_p": 1e-300}', "top_p must be >="),
    ('{"temperature": 1.0, "top_k": 2.5, "top_p": 1.0}', "top_k must be a whole number"),
    ('{"temperature": 1.0, "top_k": 0}', "top_p"),
])
def test_a_replay_recipe_goes_through_the_same_checks(policy: str, words: str, cli: Run, nade: Path,
                                                      tmp_path: Path) -> None:
    first = tmp_path / "a.png"
    assert cli("sample", nade, "--out", first, "--n", "2")[0] == 0
    bad = _edit_png(first, tmp_path / "bad.png", "arstudio:policy", policy)
    rc, _, err = cli("replay", bad, "--out", tmp_path / "c.png", "--checkpoint", nade)
    one_line(rc, err, str(bad), "arstudio:policy", words)
    assert not (tmp_path / "c.png").exists()


def _with_tensor(nade: Path, out: Path, name: str, make: Any) -> Path:
    from safetensors import safe_open

    with safe_open(str(nade), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()["arstudio"]
    tensors[name] = make(tensors[name])
    return write_raw(out, tensors, raw_meta=meta)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_weights_are_refused_naming_the_tensor(value: float, nade: Path, tmp_path: Path, cli: Run) -> None:
    from safetensors import safe_open

    with safe_open(str(nade), "pt") as f:
        name = sorted(f.keys())[-1]
    bad = _with_tensor(nade, tmp_path / "nan.safetensors", name, lambda t: t.index_fill(-1, torch.tensor([0]), value))
    with pytest.raises(CheckpointError, match=f"tensor '{name}' holds NaN or infinite values"):
        load_checkpoint(bad)
    rc, _, err = cli("sample", bad, "--out", tmp_path / "x.png")
    one_line(rc, err, str(bad), name)


@pytest.mark.parametrize("dtype, tag", [(torch.bool, "BOOL"), (torch.int8, "I8"), (torch.uint8, "U8"),
                                        (torch.int64, "I64")])
def test_integer_weights_are_refused_where_floats_belong(dtype: torch.dtype, tag: str, nade: Path,
                                                         tmp_path: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(nade), "pt") as f:
        name = sorted(f.keys())[0]
    bad = _with_tensor(nade, tmp_path / "int.safetensors", name, lambda t: t.to(dtype))
    with pytest.raises(CheckpointError, match=f"{name} is stored as {tag}, but nade weights are floats"):
        load_checkpoint(bad)


def test_half_precision_weights_still_load(nade: Path, tmp_path: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(nade), "pt") as f:
        name = sorted(f.keys())[0]
    ok = _with_tensor(nade, tmp_path / "half.safetensors", name, lambda t: t.half())
    model, _ = load_checkpoint(ok)
    assert next(model.parameters()).dtype == torch.float32


@pytest.mark.parametrize("option, value, words", [
    ("--lr", "inf", "--lr must be a finite number"),
    ("--lr", "nan", "--lr must be a finite number"),
    ("--lr", "0", "--lr must be > 0"),
    ("--steps", "0", "--steps must be >= 1"),
    ("--batch-size", "-4", "--batch-size must be >= 1"),
    ("--seed", str(2**64), "--seed must be <="),
    ("--nproc", "0", "--nproc must be >= 1"),
])
def test_train_refuses_bad_numbers_up_front(option: str, value: str, words: str, cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "t.safetensors"
    rc, _, err = cli("train", "nade", "--steps", "2", "--config", "hidden=4", "--out", out, option, value)
    one_line(rc, err, words)
    assert not out.exists()


@pytest.mark.parametrize("field, value", [("lr", math.inf), ("lr", -1.0), ("weight_decay", math.nan),
                                          ("grad_clip", math.inf), ("eval_every", 0), ("steps", 2.5)])
def test_train_config_checks_every_number(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field if field != "lr" else "learning rate"):
        TrainConfig(**{field: value})


def test_training_stops_on_a_non_finite_loss_and_saves_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               cli: Run) -> None:
    from arstudio.models.nade import NADE

    real = NADE.training_loss
    calls = {"n": 0}

    def blows_up(self: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
        calls["n"] += 1
        loss = real(self, *args, **kwargs)
        return loss * math.nan if calls["n"] >= 3 else loss

    monkeypatch.setattr(NADE, "training_loss", blows_up)
    with pytest.raises(TrainingDiverged, match="training diverged at step 3"):
        train_kind("nade", "digits", {"hidden": 4}, TrainConfig(steps=5, batch_size=8, eval_every=100))
    calls["n"] = 0
    out = tmp_path / "t.safetensors"
    rc, _, err = cli("train", "nade", "--steps", "5", "--config", "hidden=4", "--out", out)
    assert "training diverged at step 3" in err and rc == 1 and "Traceback" not in err
    assert not out.exists()


def test_a_broken_model_is_never_saved(nade: Path, tmp_path: Path) -> None:
    from arstudio.core.checkpoint import read_meta, save_checkpoint

    model, meta = load_checkpoint(nade)
    with torch.no_grad():
        next(model.parameters()).fill_(math.nan)
    out = tmp_path / "broken.safetensors"
    with pytest.raises(CheckpointError, match="not written: tensor .* NaN"):
        save_checkpoint(out, model, read_meta(nade))
    assert not out.exists()


def test_metrics_may_still_be_nan(nade: Path, tmp_path: Path) -> None:
    """NaN in metrics is a fact about held-out data (no valid split), not a broken file."""
    ok = rewrite_meta(nade, tmp_path / "m.safetensors", lambda m: {**m, "metrics": {"valid_nats": math.nan}})
    model, meta = load_checkpoint(ok)
    assert np.isnan(meta.metrics["valid_nats"])
