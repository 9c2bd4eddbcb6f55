"""Audio files in (any encoding, rate, channels; one-line errors) and WAV exports out (16-bit PCM, the recipe inside)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from arstudio.core.replay import ReplayError
from arstudio.io.errors import ExportError
from arstudio.modalities.audio.files import read_audio, read_codes, read_wav_recipe, riff_chunks, wav_bytes, write_wav
from arstudio.modalities.audio.mulaw import mu_law_decode

RATE = 16000


def tone(seconds: float, rate: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_stereo_is_mixed_down(tmp_path) -> None:
    left, right = tone(0.5, RATE), tone(0.5, RATE, 880.0, 0.2)
    sf.write(tmp_path / "s.wav", np.stack([left, right], 1), RATE, subtype="PCM_16")
    got = read_audio(tmp_path / "s.wav", RATE)
    assert got.dtype == np.float32 and got.shape == (RATE // 2,)
    np.testing.assert_allclose(got, (left + right) / 2, atol=1e-3)


@pytest.mark.parametrize("subtype", ["PCM_24", "FLOAT", "PCM_U8", "PCM_32", "ULAW"])
def test_any_encoding_reads(tmp_path, subtype) -> None:
    x = tone(0.25, RATE)
    sf.write(tmp_path / "e.wav", x, RATE, subtype=subtype)
    got = read_audio(tmp_path / "e.wav", RATE)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, x, atol=0.02)


def test_float_out_of_range_and_nan_are_tamed(tmp_path) -> None:
    x = tone(0.1, RATE, amp=3.0)
    x[10] = np.nan
    sf.write(tmp_path / "f.wav", x, RATE, subtype="FLOAT")
    got = read_audio(tmp_path / "f.wav", RATE)
    assert np.isfinite(got).all() and got.max() <= 1.0 and got.min() >= -1.0 and got[10] == 0.0


@pytest.mark.parametrize("rate", [22050, 44100, 8000])
def test_other_rates_are_resampled(tmp_path, rate) -> None:
    sf.write(tmp_path / "r.wav", tone(1.0, rate, 300.0), rate, subtype="PCM_16")
    got = read_audio(tmp_path / "r.wav", RATE)
    assert abs(len(got) - RATE) <= 2
    np.testing.assert_allclose(got[1000:-1000], tone(1.0, RATE, 300.0)[1000:len(got) - 1000], atol=0.01)


@pytest.mark.parametrize("fmt, suffix", [("FLAC", ".flac"), ("OGG", ".ogg")])
def test_flac_and_ogg(tmp_path, fmt, suffix) -> None:
    sf.write(tmp_path / f"c{suffix}", tone(0.5, RATE), RATE, format=fmt)
    assert abs(len(read_audio(tmp_path / f"c{suffix}", RATE)) - RATE // 2) <= 2


def test_bad_files_are_one_line_value_errors(tmp_path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("these are not the sounds you are looking for\n" * 20)
    (tmp_path / "fake.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40)
    sf.write(tmp_path / "silent.wav", np.zeros(0, np.float32), RATE, subtype="PCM_16")
    cases = {"empty.wav": "is empty", "notes.wav": "is not an audio file", "fake.wav": "is not an audio file",
             "silent.wav": "has no sound", "missing.wav": "no such file", ".": "is a folder"}
    for name, says in cases.items():
        with pytest.raises(ValueError) as e:
            read_audio(tmp_path / name, RATE)
        msg = str(e.value)
        assert says in msg and "\n" not in msg, msg


def test_very_long_files_are_refused_or_cut(tmp_path) -> None:
    sf.write(tmp_path / "long.wav", np.zeros(8000 * 13, np.int16), 8000, subtype="PCM_16")  # 13 s
    with pytest.raises(ValueError, match=r"is 13.0 s long; at most 10 s can be read"):
        read_audio(tmp_path / "long.wav", RATE, max_seconds=10)
    cut = read_codes(tmp_path / "long.wav", RATE, max_seconds=2, truncate=True)
    assert len(cut) == 2 * RATE and cut.dtype == np.int64 and set(cut.tolist()) == {128}


RECIPE = {"Software": "arstudio 0.1.0", "Source": "w", "arstudio:seed": "3", "arstudio:cond": "[[1.0,-2.5]]",
          "arstudio:note": "ünïcode ✓"}


def test_write_wav_reads_back_with_soundfile(tmp_path) -> None:
    codes = np.random.default_rng(0).integers(0, 256, 3001)
    path = write_wav(tmp_path / "out.wav", codes, RATE, RECIPE)
    data, rate = sf.read(path, dtype="int16")
    info = sf.info(path)
    assert rate == RATE and info.subtype == "PCM_16" and info.channels == 1 and len(data) == 3001
    expect = np.clip(np.round(mu_law_decode(codes).astype(np.float64) * 32767), -32768, 32767)
    assert np.array_equal(data, expect.astype(np.int16))
    assert read_wav_recipe(path) == RECIPE
    assert path.read_bytes() == wav_bytes(codes, RATE, RECIPE)  # same input, same bytes
    assert set(riff_chunks(path)) == {b"fmt ", b"data", b"arst"}


def test_write_wav_takes_floats_and_no_recipe(tmp_path) -> None:
    path = write_wav(tmp_path / "f.wav", np.array([0.0, 0.5, -1.0, 2.0], np.float32), 8000)
    assert sf.read(path, dtype="int16")[0].tolist() == [0, 16384, -32767, 32767]
    assert read_wav_recipe(path) == {}


@pytest.mark.skipif(shutil.which("soxi") is None, reason="soxi (sox) is not installed")
def test_soxi_reads_rate_length_and_encoding(tmp_path) -> None:
    path = write_wav(tmp_path / "x.wav", np.full(12345, 128), RATE, {"arstudio:cond": "[" + "1.5," * 50000 + "0]"})
    out = subprocess.run(["soxi", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Channels\s*: 1\n", out) and re.search(r"Sample Rate\s*: 16000\n", out)
    assert "= 12345 samples" in out and "16-bit Signed Integer PCM" in out
    assert subprocess.run(["soxi", "-s", str(path)], capture_output=True, text=True).stdout.strip() == "12345"


def test_write_failures_leave_nothing(tmp_path, make_read_only) -> None:
    folder = make_read_only(tmp_path / "ro") if (tmp_path / "ro").mkdir() is None else None
    with pytest.raises(ExportError, match="cannot write"):
        write_wav(folder / "x.wav", np.zeros(10, np.int64), RATE)
    assert not list(folder.iterdir())


def test_recipe_of_a_non_wav_is_a_replay_error(tmp_path) -> None:
    (tmp_path / "x.wav").write_text("not a wav")
    with pytest.raises(ReplayError, match="is not a WAV file"):
        read_wav_recipe(tmp_path / "x.wav")
    sf.write(tmp_path / "plain.wav", tone(0.1, RATE), RATE)
    assert read_wav_recipe(tmp_path / "plain.wav") == {}
