"""The audio data sets: tones16k (numpy), speech16k (espeak-ng; a tiny one, or skipped without it)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from arstudio.data.datasets import dataset_modality, datasets, get_dataset
from arstudio.modalities.audio import speech
from arstudio.modalities.audio.condition import unpack_condition
from arstudio.modalities.audio.data import window_starts
from arstudio.modalities.audio.mel import log_mel
from arstudio.modalities.audio.mulaw import mu_law_decode

CONFIG_KEYS = {"sample_rate", "length", "levels", "voices", "n_mels", "hop_length", "n_fft", "f_min", "f_max"}


def test_both_sets_are_registered_as_audio() -> None:
    assert {"speech16k", "tones16k"} <= set(datasets("audio"))
    assert dataset_modality("speech16k") == dataset_modality("tones16k") == "audio"


def test_window_starts_on_frame_boundaries() -> None:
    assert window_starts(100, 64, 8) == [0, 32]  # the tail (36 >= 32) ends on a frame boundary
    assert window_starts(64 * 3 + 10, 64, 8) == [0, 64, 128]  # a short tail is dropped
    assert window_starts(63, 64, 8) == []
    assert all(s % 8 == 0 for s in window_starts(1000, 64, 8))


def test_tones16k_format() -> None:
    ds = get_dataset("tones16k")
    assert ds.layout.modality == "audio" and ds.layout.shape == (4096,)
    assert ds.values.kind == "categorical" and ds.values.n == 256 and ds.values.labels[128].startswith("+0.0")
    cfg = ds.model_config()
    assert set(cfg) == CONFIG_KEYS and cfg["voices"] == ["pure", "hollow", "bright", "bell"]
    assert cfg["sample_rate"] == 16000 and cfg["length"] == 160000 and cfg["n_mels"] == 80 and cfg["hop_length"] == 256
    for split in ("train", "valid", "test"):
        x, rows = getattr(ds, split), ds.labels[split]
        assert x.dtype == torch.long and x.shape[1] == 4096 and 0 <= int(x.min()) and int(x.max()) <= 255
        assert rows.dtype == torch.float32 and rows.shape == (len(x), 1 + 80 * 16)
        assert set(rows[:, 0].long().tolist()) <= {0, 1, 2, 3}
    # split by clip: no clip in two splits; a checkpoint records the clip indices
    idx = {k: set(v) for k, v in ds.split.items()}
    assert not (idx["train"] & idx["valid"]) and not (idx["train"] & idx["test"]) and not (idx["valid"] & idx["test"])
    assert ds.meta()["unit"] == "utterances" and len(ds.utterances["test"]) == len(ds.split["test"])
    x, rows, note = ds.recorded_split("test", ds.split["test"])
    assert x is ds.test and rows is ds.labels["test"] and note == ""
    with pytest.raises(ValueError, match="differ from today's"):
        ds.recorded_split("test", ds.split["test"][1:])


def test_tones16k_rows_hold_the_windows_voice_and_mel() -> None:
    ds = get_dataset("tones16k")
    voice, codes = ds.utterances["test"][0]
    mel = ds.held_mels["test"][0]
    first = ds.test[0]
    assert torch.equal(first, torch.as_tensor(codes[:4096]))  # the first window of the first test clip
    v, m = unpack_condition(ds.labels["test"][0].numpy(), 80)
    assert v == voice and m.shape == (80, 16)
    np.testing.assert_allclose(m, mel[:, :16], atol=1e-6)
    # the mel was taken from the audio before mu-law: close to the mel of the decoded codes where there is sound
    loud = m > -4
    assert np.abs(log_mel(mu_law_decode(codes))[:, :16].numpy() - m)[loud].mean() < 0.3


def test_tones16k_is_the_same_every_time() -> None:
    from arstudio.modalities.audio.tones import build_tones

    a, b = build_tones(n=8, held=1), build_tones(n=8, held=1)
    assert torch.equal(a.train, b.train) and torch.equal(a.labels["train"], b.labels["train"])


def test_speech_without_espeak_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(speech.EspeakMissingError) as e:
        speech.build_speech("speech-test", n=4, held=1, cache=tmp_path)
    assert str(e.value) == "espeak-ng is not installed: apt-get install espeak-ng; or use tones16k"
    assert isinstance(e.value, ValueError)


def test_sentences_are_plain_prose() -> None:
    s = speech.sentences(50)
    assert len(s) == len(set(s)) == 50 and s == speech.sentences(50)
    assert all(40 <= len(t) <= 140 and t[0].isupper() and t[-1] in ".!?" and "(" not in t for t in s)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_tiny_speech_set_builds_and_is_cached(tmp_path, monkeypatch) -> None:
    ds = speech.build_speech("speech-test", n=6, held=1, window=4096, cache=tmp_path)
    assert ds.layout.shape == (4096,) and ds.model_config()["voices"] == list(speech.VOICES)
    assert len(ds.split["train"]) == 4 and len(ds.utterances["valid"]) == 1
    assert ds.labels["train"].shape == (len(ds.train), 1 + 80 * 16)
    assert 2.0 < ds.seconds["train"] < 60.0 and "espeak-ng" in ds.description
    assert len(list(tmp_path.glob("speech-test-*.npz"))) == 1
    # the second build reads the cache: no espeak-ng needed
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    again = speech.build_speech("speech-test", n=6, held=1, window=4096, cache=tmp_path)
    assert torch.equal(again.train, ds.train) and torch.equal(again.labels["valid"], ds.labels["valid"])


def test_training_on_speech_without_espeak_is_one_line(cli, tmp_path, monkeypatch, one_line) -> None:
    import importlib

    registry = importlib.import_module("arstudio.data.datasets")  # the module; arstudio.data.datasets is a function

    monkeypatch.setenv("ARSTUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    monkeypatch.delitem(registry._CACHE, "speech16k", raising=False)
    rc, _, err = cli("train", "wavenet", "--data", "speech16k", "--steps", "1", "--out", tmp_path / "w.safetensors")
    assert one_line(rc, err) == "arstudio: error: espeak-ng is not installed: apt-get install espeak-ng; or use tones16k"
    assert "speech16k" not in registry._CACHE
