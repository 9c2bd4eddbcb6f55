"""`arstudio sample --prompt` and `arstudio eval --text` on a tiny trained GPT and on a tiny random GPT-2 folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from arstudio.cli import main
from arstudio.core import generate
from arstudio.core.policy import SamplingPolicy
from arstudio.data.text import score_text
from arstudio.data.tokenizers import tokenizer_from_config
from arstudio.core.formats import open_checkpoint
from arstudio.modalities.text.files import read_text_json

TEXT = "def f(x):\n    return x + 1\n"


@pytest.fixture(scope="module")
def tiny_gpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer GPT over characters, trained for 3 steps through the CLI."""
    out = tmp_path_factory.mktemp("gpt") / "gpt.safetensors"
    assert main(["train", "gpt", "--data", "pydoc-chars", "--steps", "3", "--batch-size", "2", "--config", "n_layer=1",
                 "--config", "n_embd=16", "--config", "n_head=2", "--out", str(out)]) == 0
    return out


def _sample_and_check(cli, ckpt: Path, tmp_path: Path, prompt: str) -> None:
    out = tmp_path / "out.json"
    rc, stdout, err = cli("sample", ckpt, "--prompt", prompt, "--tokens", 6, "--out", out, "--temperature", 0)
    assert rc == 0, err
    doc = read_text_json(out)
    model, _ = open_checkpoint(ckpt)
    tok = tokenizer_from_config(model.spec.config["tokenizer"])
    ids = tok.encode(prompt)
    steps = list(generate(model, steps=len(ids) + 6, prefix=torch.tensor([ids]), policy=SamplingPolicy(0.0)))
    assert [t.id for t in doc.tokens] == [int(s.value[0]) for s in steps]
    assert [t.given for t in doc.tokens] == [True] * len(ids) + [False] * 6
    assert doc.text.startswith(prompt) and doc.prompt == prompt
    txt = tmp_path / "out.txt"
    assert cli("sample", ckpt, "--prompt", prompt, "--tokens", 6, "--out", txt, "--temperature", 0)[0] == 0
    assert txt.read_text(encoding="utf-8") == doc.text


def _eval_and_check(cli, ckpt: Path, tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text(TEXT * 3, encoding="utf-8")
    rc, out, err = cli("eval", ckpt, "--text", f, "--json")
    assert rc == 0, err
    row = json.loads(out)
    model, _ = open_checkpoint(ckpt)
    want = score_text(model, tokenizer_from_config(model.spec.config["tokenizer"]), TEXT * 3)
    assert row["bits_per_byte"] == pytest.approx(want["bits_per_byte"], rel=1e-6)
    assert row["bits_per_token"] == pytest.approx(want["bits_per_token"], rel=1e-6)
    assert row["bytes"] == len((TEXT * 3).encode()) and row["tokens"] == len(want["ids"])
    rc, out, _ = cli("eval", ckpt, "--text", f)
    assert rc == 0 and "bits/byte" in out and "bits/token" in out


def test_sample_prompt_on_a_trained_gpt(cli, tiny_gpt, tmp_path):
    _sample_and_check(cli, tiny_gpt, tmp_path, "def f(x):")


def test_eval_text_on_a_trained_gpt(cli, tiny_gpt, tmp_path):
    _eval_and_check(cli, tiny_gpt, tmp_path)


def test_sample_prompt_on_a_gpt2_folder(cli, gpt2_folder, tmp_path):
    _sample_and_check(cli, gpt2_folder, tmp_path, "def f(x):")


def test_eval_text_on_a_gpt2_folder(cli, gpt2_folder, tmp_path):
    _eval_and_check(cli, gpt2_folder, tmp_path)


def test_bad_text_input_is_one_line(cli, tiny_gpt, gpt2_folder, tmp_path, one_error_line):
    out = tmp_path / "o.txt"
    line = one_error_line(*cli("sample", tiny_gpt, "--prompt", "naïve ☃", "--out", out)[::2])
    assert "outside this model's vocabulary" in line
    line = one_error_line(*cli("sample", tiny_gpt, "--prompt", "x" * 300, "--tokens", 10, "--out", out)[::2])
    assert "context" in line
    assert cli("sample", tiny_gpt, "--prompt", "", "--tokens", 4, "--out", out)[0] == 0  # empty: from BOS
    line = one_error_line(*cli("sample", tiny_gpt, "--prompt", "a", "--out", tmp_path / "o.png")[::2])
    assert ".txt" in line
    line = one_error_line(*cli("eval", tiny_gpt, "--text", tmp_path / "missing.txt")[::2])
    assert "missing.txt" in line
    # GPT-2 folders with missing or mismatched files
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(gpt2_folder, broken)
    (broken / "merges.txt").unlink()
    line = one_error_line(*cli("sample", broken, "--prompt", "a", "--out", out)[::2])
    assert "merges.txt" in line
    (broken / "model.safetensors").unlink()
    line = one_error_line(*cli("eval", broken, "--text", tmp_path / "x.txt")[::2])
    assert "model.safetensors" in line
    cfg = json.loads((gpt2_folder / "config.json").read_text())
    mism = tmp_path / "mismatched"
    shutil.copytree(gpt2_folder, mism)
    (mism / "config.json").write_text(json.dumps({**cfg, "n_embd": 2 * cfg["n_embd"]}))
    line = one_error_line(*cli("sample", mism, "--prompt", "a", "--out", out)[::2])
    assert "does not match config.json" in line
    line = one_error_line(*cli("eval", gpt2_folder)[::2])
    assert "--text" in line


@pytest.mark.parametrize("which", ["tiny_gpt", "gpt2_folder"])
def test_replay_of_a_text_export_is_byte_for_byte(cli, request, tmp_path, which):
    ckpt = request.getfixturevalue(which)
    first, copy = tmp_path / "a.json", tmp_path / "b.json"
    rc, _, err = cli("sample", ckpt, "--prompt", "def", "--tokens", 8, "--seed", 5, "--temperature", 0.9,
                     "--top-k", 20, "--out", first)
    assert rc == 0, err
    doc = read_text_json(first)
    assert doc.info["arstudio:modality"] == "text" and doc.info["arstudio:seed"] == "5"
    assert all(t.log_prob <= 0 for t in doc.tokens if not t.given)
    rc, out, err = cli("replay", first, "--out", copy, "--checkpoint", ckpt)
    assert rc == 0, err
    assert copy.read_bytes() == first.read_bytes()


def test_text_replay_errors_are_one_line(cli, tiny_gpt, tmp_path, one_error_line):
    txt = tmp_path / "a.txt"
    assert cli("sample", tiny_gpt, "--prompt", "a", "--tokens", 3, "--out", txt)[0] == 0
    line = one_error_line(*cli("replay", txt, "--out", tmp_path / "b.txt", "--checkpoint", tiny_gpt)[::2])
    assert "export as .json" in line
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"hello": 1}', encoding="utf-8")
    line = one_error_line(*cli("replay", foreign, "--out", tmp_path / "b.json")[::2])
    assert "not an arstudio text export" in line and "foreign.json" in line
    first = tmp_path / "a.json"
    assert cli("sample", tiny_gpt, "--prompt", "a", "--tokens", 3, "--out", first)[0] == 0
    doc = json.loads(first.read_text(encoding="utf-8"))
    doc["info"] = {k: v for k, v in doc["info"].items() if k != "arstudio:seed"}
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc), encoding="utf-8")
    line = one_error_line(*cli("replay", broken, "--out", tmp_path / "c.json", "--checkpoint", tiny_gpt)[::2])
    assert "arstudio:seed missing" in line


def test_train_reports_bits_per_token_for_text(tmp_path, capsys):
    out = tmp_path / "gpt.safetensors"
    assert main(["train", "gpt", "--data", "pydoc-chars", "--steps", "2", "--batch-size", "2", "--config", "n_layer=1",
                 "--config", "n_embd=16", "--config", "n_head=2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nats/window" in printed and "bits/token" in printed and "bits/dim" not in printed
