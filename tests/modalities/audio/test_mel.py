"""Log-mel in torch: the Slaney filterbank against librosa's, frames, shapes, Griffin-Lim."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arstudio.modalities.audio.mel import (
    MelSettings, griffin_lim, log_mel, log_mel_for, mel_distance, mel_filterbank,
)

librosa = pytest.importorskip("librosa")


@pytest.mark.parametrize("rate, n_fft, n_mels, f_min, f_max", [
    (16000, 1024, 80, 0.0, 8000.0),
    (22050, 2048, 128, 50.0, 10000.0),
    (16000, 32, 8, 0.0, 8000.0),
])
def test_filterbank_matches_librosa(rate, n_fft, n_mels, f_min, f_max) -> None:
    ours = mel_filterbank(rate, n_fft, n_mels, f_min, f_max).numpy()
    ref = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max)  # Slaney, area-normalised
    assert ours.shape == ref.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


def test_log_mel_matches_librosa_stft() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    x = (0.4 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
    ours = log_mel(x).numpy()
    fb = librosa.filters.mel(sr=16000, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0)
    mag = np.abs(librosa.stft(x, n_fft=1024, hop_length=256, center=True, pad_mode="reflect"))
    ref = np.log(np.maximum(fb @ mag, 1e-5))[:, :63]
    assert ours.shape == (80, 63)
    np.testing.assert_allclose(ours, ref, atol=1e-3)


@pytest.mark.parametrize("samples, frames", [(0, 0), (1, 1), (255, 1), (256, 1), (257, 2), (512, 2), (8192, 32),
                                             (16000, 63)])
def test_frames_are_ceil_of_samples_over_hop(samples, frames) -> None:
    assert log_mel(np.zeros(samples, dtype=np.float32)).shape == (80, frames)
    assert MelSettings().frames(samples) == frames


def test_batch_shapes_settings_and_silence() -> None:
    x = torch.randn(2, 3, 1000) * 0.1
    out = log_mel(x, {"n_mels": 16, "hop_length": 100, "n_fft": 256, "sample_rate": 8000, "f_max": 4000.0})
    assert out.shape == (2, 3, 16, 10) and out.dtype == torch.float32
    one = log_mel_for({"n_mels": 16, "hop_length": 100, "n_fft": 256, "sample_rate": 8000, "f_max": 4000.0})(x[1, 2])
    torch.testing.assert_close(one, out[1, 2])
    assert float(log_mel(np.zeros(4096)).max()) == pytest.approx(np.log(1e-5))


def test_griffin_lim_resynthesises_a_tone() -> None:
    t = np.arange(8192) / 16000
    x = (0.5 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    mel = log_mel(x)
    y = griffin_lim(mel, length=len(x))
    assert y.shape == (len(x),) and torch.isfinite(y).all()
    noise = np.random.default_rng(0).standard_normal(8192).astype(np.float32) * 0.1
    assert mel_distance(log_mel(y), mel) < 0.25 * mel_distance(log_mel(noise), mel)
    assert torch.equal(griffin_lim(mel, length=len(x)), y)  # seeded: the same every time
