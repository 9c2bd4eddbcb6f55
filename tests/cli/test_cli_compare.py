"""`arstudio compare A B`: per-step KL and log p differences of two checkpoints, text and images."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from tests.train.test_compare_logic import image_checkpoint, text_checkpoint


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli-compare")
    return {"gpt": text_checkpoint(d, "gpt"), "rnn": text_checkpoint(d, "char_rnn", length=16),
            "other": text_checkpoint(d, "gpt", chars="abc xyzh\n", name="other"),
            "nade": image_checkpoint(d, "nade"), "made": image_checkpoint(d, "made")}


def _figures(out: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", out)]


def test_two_text_checkpoints_with_one_tokenizer(cli, pair) -> None:
    rc, out, err = cli("compare", pair["gpt"], pair["rnn"], "--seed", 3)
    assert rc == 0, err
    assert f"A: {pair['gpt']} (gpt)" in out and f"B: {pair['rnn']} (char_rnn)" in out
    assert "modality: text; 16 steps (tokens) compared, 4 samples each, seed 3" in out
    m = re.search(r"KL\(A \|\| B\) per token: mean (\S+) nats, max (\S+) nats at step (\d+)", out)
    assert m and 0 < float(m[1]) <= float(m[2]) and 0 <= int(m[3]) < 16
    assert "log p_A(x_A) - log p_B(x_B) per token: mean" in out
    assert all(math.isfinite(v) for v in _figures(out)) and "nan" not in out


def test_json_is_one_object(cli, pair) -> None:
    rc, out, err = cli("compare", pair["gpt"], pair["rnn"], "--json", "--steps", 5, "--n", 2, "--temperature", 0.5,
                       "--top-k", 3)
    assert rc == 0, err
    row = json.loads(out)
    assert row["modality"] == "text" and row["step_unit"] == "token" and row["steps"] == 5 and row["batch"] == 2
    assert row["policy"] == {"temperature": 0.5, "top_k": 3, "top_p": 1.0}
    for key in ("kl_mean", "kl_max", "dlogp_mean", "dlogp_abs_mean", "logp_a", "logp_b", "agree"):
        assert isinstance(row[key], float) and math.isfinite(row[key]), key
    assert row["kl_max"] >= row["kl_mean"] >= 0 and 0 <= row["kl_max_step"] < 5
    same = json.loads(cli("compare", pair["gpt"], pair["gpt"], "--json")[1])
    assert same["kl_mean"] == pytest.approx(0, abs=1e-6) and same["agree"] == 1.0 and same["first_difference"] is None


def test_an_image_pair(cli, pair) -> None:
    rc, out, err = cli("compare", pair["nade"], pair["made"], "--json")
    assert rc == 0, err
    row = json.loads(out)
    assert row["modality"] == "image" and row["step_unit"] == "dim" and row["steps"] == 64
    assert row["kind_a"] == "nade" and row["kind_b"] == "made" and row["kl_mean"] > 0
    rc, out, _ = cli("compare", pair["nade"], pair["made"])
    assert rc == 0 and "64 steps (dims) compared" in out and "KL(A || B) per dim: mean" in out


def test_what_does_not_compare_is_one_line(cli, pair, one_error_line) -> None:
    line = one_error_line(*cli("compare", pair["gpt"], pair["other"])[::2])
    assert "use different tokenizers" in line and "'defg' only in gpt-text-tiny's" in line
    line = one_error_line(*cli("compare", pair["nade"], pair["gpt"])[::2])
    assert "is a text model (gpt)" in line and "is an image model (nade)" in line
    line = one_error_line(*cli("compare", pair["nade"], pair["made"], "--steps", 0)[::2])
    assert "--steps must be at least 1" in line
    assert "no checkpoint called 'nope'" in one_error_line(*cli("compare", pair["nade"], "nope")[::2])


def test_help_says_what_it_does(cli) -> None:
    rc, out, _ = cli("compare", "--help")
    assert rc == 0 and "KL(p_A || p_B)" in out and "--steps" in out and "--json" in out
    rc, out, _ = cli("--help")
    assert "compare two checkpoints step by step" in out
