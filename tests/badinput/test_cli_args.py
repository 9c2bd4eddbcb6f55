"""Weak answers made clear: unknown devices, bad environment variables, options of another modality, prompts
that are not UTF-8, and text replays with values outside the vocabulary: one line naming what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Run, one_line, tiny_checkpoint


@pytest.mark.parametrize("device, words", [("tpu:7", "unknown device 'tpu:7'"), ("cuda:x", "unknown device"),
                                           ("meta", "is not supported"), ("", "unknown device")])
def test_an_unknown_device_is_one_line(device: str, words: str, cli: Run, nade: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if not device:
        monkeypatch.setenv("ARSTUDIO_DEVICE", "tpu:7")
        rc, _, err = cli("sample", nade, "--out", tmp_path / "x.png")
        one_line(rc, err, words, "ARSTUDIO_DEVICE")
        return
    rc, _, err = cli("sample", nade, "--out", tmp_path / "x.png", "--device", device)
    one_line(rc, err, words)


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_bad_arstudio_threads_is_one_line(value: str, cli: Run, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("ARSTUDIO_THREADS", value)
    rc, _, err = cli("train", "nade", "--steps", "1", "--out", tmp_path / "t.safetensors")
    one_line(rc, err, "ARSTUDIO_THREADS")


def test_an_option_of_another_modality_is_refused(cli: Run, nade: Path, tmp_path: Path) -> None:
    rc, _, err = cli("sample", nade, "--out", tmp_path / "x.png", "--prompt", "hello")
    one_line(rc, err, "--prompt does not apply", "an image model")
    rc, _, err = cli("sample", nade, "--out", tmp_path / "x.png", "--tokens", "5")
    one_line(rc, err, "--tokens does not apply")
    assert not (tmp_path / "x.png").exists()


@pytest.fixture
def gpt(user_models: Path) -> Path:
    return tiny_checkpoint(user_models, "gpt", vocab_size=16, tokenizer={"type": "char", "chars": "abcdefghijklmno"})


def test_a_prompt_that_is_not_utf8_is_one_line(cli: Run, gpt: Path, tmp_path: Path) -> None:
    bad = b"caf\xe9".decode("utf-8", "surrogateescape")  # how such bytes reach sys.argv
    rc, _, err = cli("sample", gpt, "--out", tmp_path / "x.json", "--prompt", bad)
    one_line(rc, err, "--prompt is not valid UTF-8")


@pytest.mark.parametrize("key, value, words", [
    ("prefix", [[99, 1]], "whole numbers from 0 to"),
    ("prefix", [[-1, 1]], "whole numbers from 0 to"),
    ("forced", {"3": [1000]}, "whole numbers from 0 to"),
    ("forced", {"300": [1]}, "outside the run"),
    ("steps", "99999", "the model's run has"),
    ("n", "100000", "1 to 4096 samples"),
])
def test_a_text_replay_checks_values_and_steps(key: str, value: object, words: str, cli: Run, gpt: Path,
                                               tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    rc, _, err = cli("sample", gpt, "--out", first, "--tokens", "4")
    assert rc == 0, err
    doc = json.loads(first.read_text())
    doc["info"][f"arstudio:{key}"] = value if isinstance(value, str) else json.dumps(value)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    rc, _, err = cli("replay", bad, "--out", tmp_path / "c.json", "--checkpoint", gpt)
    one_line(rc, err, str(bad), words)


def test_a_deeply_nested_text_export_is_one_line(cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "deep.json"
    bad.write_text('{"format": "arstudio-text/1", "info": ' + "[" * 100000 + "]" * 100000 + "}")
    rc, _, err = cli("replay", bad, "--out", tmp_path / "c.json")
    one_line(rc, err, str(bad), "nested")
