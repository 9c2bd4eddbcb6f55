"""`arstudio sample` / `replay` / `eval` of an audio checkpoint: WAV files made again byte for byte, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from arstudio.core.formats import open_checkpoint
from arstudio.modalities.audio.files import read_wav_recipe


def _primer(tmp_path):
    t = np.arange(int(0.05 * 44100)) / 44100
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)], 1)
    sf.write(tmp_path / "primer.wav", stereo, 44100, subtype="PCM_24")  # stereo, 24-bit, 44.1 kHz
    return tmp_path / "primer.wav"


def _condition(tmp_path):
    t = np.arange(int(0.12 * 22050)) / 22050
    sf.write(tmp_path / "cond.wav", (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050, subtype="FLOAT")
    return tmp_path / "cond.wav"


@pytest.mark.parametrize("options", [
    ("--seconds", "0.05", "--seed", "3"),
    ("--seconds", "0.04", "--voice", "bell", "--temperature", "0.8", "--top-k", "20"),
    ("--condition", "COND", "--voice", "1", "--primer", "PRIMER"),
    ("--condition", "COND", "--seconds", "0.2"),
    ("--primer", "PRIMER", "--seed", "5"),
])
def test_sample_then_replay_is_byte_for_byte(cli, tiny_wavenet, tmp_path, options) -> None:
    options = tuple(str(_condition(tmp_path)) if o == "COND" else str(_primer(tmp_path)) if o == "PRIMER" else o
                    for o in options)
    first, copy = tmp_path / "a.wav", tmp_path / "b.wav"
    rc, out, err = cli("sample", tiny_wavenet, "--out", first, *options)
    assert rc == 0, err
    assert "wrote" in out
    info = sf.info(first)
    assert info.samplerate == 16000 and info.subtype == "PCM_16" and info.channels == 1
    seconds = float(options[options.index("--seconds") + 1]) if "--seconds" in options else None
    if seconds is not None:
        assert info.frames == round(seconds * 16000)
    elif "--condition" in options:
        assert info.frames == round(0.12 * 16000)  # the condition file's length
    else:
        assert info.frames == 4096  # a second more than the primer, cut to the model's length
    recipe = read_wav_recipe(first)
    assert recipe["arstudio:modality"] == "audio" and recipe["arstudio:kind"] == "wavenet"
    if "--condition" in options:
        cond = json.loads(recipe["arstudio:cond"])
        assert len(cond) == 1 and (len(cond[0]) - 1) % 80 == 0 and len(cond[0]) > 1
    if "--primer" in options:
        assert len(json.loads(recipe["arstudio:prefix"])[0]) == round(0.05 * 16000)
    rc, out, err = cli("replay", first, "--out", copy, "--checkpoint", tiny_wavenet)
    assert rc == 0, err
    assert copy.read_bytes() == first.read_bytes()


def test_the_model_shows_amplitudes_as_labels(tiny_wavenet) -> None:
    model, _ = open_checkpoint(tiny_wavenet)
    labels = model.spec.values.labels
    assert labels is not None and len(labels) == 256 and labels[0] == "-1.0000" and labels[255] == "+1.0000"


@pytest.mark.parametrize("options, says", [
    (("--seconds", "1"), "writes at most 0.256 s"),
    (("--seconds", "-1"), "--seconds must be a positive number"),
    (("--voice", "nobody"), "unknown voice 'nobody'; this model's voices: pure, hollow, bright, bell"),
    (("--condition", "NOTAUDIO"), "is not an audio file"),
    (("--primer", "MISSING"), "no such file"),
])
def test_bad_options_are_one_line(cli, tiny_wavenet, tmp_path, one_line, options, says) -> None:
    (tmp_path / "notes.wav").write_text("hello\n" * 100)
    options = tuple(str(tmp_path / "notes.wav") if o == "NOTAUDIO" else str(tmp_path / "gone.wav")
                    if o == "MISSING" else o for o in options)
    rc, _, err = cli("sample", tiny_wavenet, "--out", tmp_path / "x.wav", *options)
    assert says in one_line(rc, err)
    assert not (tmp_path / "x.wav").exists()


def test_sample_wants_a_wav_path(cli, tiny_wavenet, tmp_path, one_line) -> None:
    rc, _, err = cli("sample", tiny_wavenet, "--out", tmp_path / "x.png")
    assert ".wav" in one_line(rc, err)


def test_eval_reports_bits_per_sample_by_conditioning(cli, tiny_wavenet) -> None:
    rc, out, err = cli("eval", tiny_wavenet, "--json")
    assert rc == 0, err
    row = json.loads(out)
    for key in ("unconditional", "voice", "mel", "voice_and_mel"):
        assert 0.0 < row[f"bits_per_sample_{key}"] < 12.0
    assert row["data"] == "tones16k" and row["windows"] == 48
    rc, out, err = cli("eval", tiny_wavenet)
    assert rc == 0, err
    assert "bits/sample" in out and "unconditional" in out and "voice and mel" in out


def test_eval_vocoder_against_griffin_lim(cli, tiny_wavenet) -> None:
    rc, out, err = cli("eval", tiny_wavenet, "--vocoder", "--vocoder-clips", "1", "--json")
    assert rc == 0, err
    row = json.loads(out)
    assert row["vocoder_clips"] == 1 and row["vocoder_seconds"] > 0
    for key in ("wavenet", "griffin_lim", "mulaw"):
        assert np.isfinite(row[f"mel_distance_{key}"])
    assert row["mel_distance_mulaw"] < row["mel_distance_griffin_lim"]
    assert "vocoder 1/1" in err  # the progress line


def test_import_file_gives_a_primers_codes(tiny_wavenet, tmp_path) -> None:
    from arstudio.core.modality import get_modality

    model, _ = open_checkpoint(tiny_wavenet)
    sf.write(tmp_path / "long.wav", np.zeros((3 * 22050, 2), np.float32), 22050, subtype="FLOAT")
    codes = get_modality("audio").import_file(tmp_path / "long.wav", model.spec)
    assert codes.dtype == np.int64 and len(codes) == 4096 and set(codes.tolist()) == {128}  # cut to the model's length
    with pytest.raises(ValueError, match="is empty"):
        (tmp_path / "e.wav").write_bytes(b"")
        get_modality("audio").import_file(tmp_path / "e.wav", model.spec)
