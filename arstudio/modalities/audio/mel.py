"""Log-mel spectrograms in torch (the WaveNet's local conditioning), and Griffin-Lim from a log-mel.

The filterbank is Slaney's (the mel scale linear below 1 kHz and logarithmic above, each triangle
scaled to unit area), librosa's default; a test compares it with ``librosa.filters.mel``.
``log_mel`` is log(max(fb @ |STFT|, 1e-5)) with a periodic Hann window of ``n_fft``, frames
every ``hop_length`` samples, centred (reflect-padded), truncated to ceil(T / hop) frames so that
frame j belongs to samples [j hop, (j + 1) hop) (the conditioning format of
``arstudio.modalities.audio.condition``).

``griffin_lim`` (Griffin & Lim 1984, with the momentum of Perraudin et al. 2013, as librosa's)
turns a log-mel back into audio: the baseline the WaveNet vocoder is measured against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

LOG_FLOOR = 1e-5  # the magnitude floor before the log: log(1e-5) = -11.51 is silence


@dataclass(frozen=True)
class MelSettings:
    """What a log-mel depends on: the model config's fields of the same names."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float = 8000.0

    @classmethod
    def of(cls, config: Any) -> "MelSettings":
        """The settings of a config: a ``MelSettings``, a dict (``spec.config``) or an object with those fields."""
        if isinstance(config, MelSettings):
            return config
        get = (lambda k, d: config.get(k, d)) if isinstance(config, Mapping) else (lambda k, d: getattr(config, k, d))
        base = cls()
        return cls(int(get("sample_rate", base.sample_rate)), int(get("n_fft", base.n_fft)),
                   int(get("hop_length", base.hop_length)), int(get("n_mels", base.n_mels)),
                   float(get("f_min", base.f_min)), float(get("f_max", base.f_max)))

    def frames(self, samples: int) -> int:
        """Mel frames for ``samples`` samples: ceil(T / hop)."""
        return -(-int(samples) // self.hop_length)


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    lin = f / f_sp
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, lin)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    """The inverse of ``hz_to_mel``."""
    m = np.asarray(m, dtype=np.float64)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=16)
def _filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> torch.Tensor:
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))  # band edges in Hz
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]  # (n_mels + 2, n_freqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))  # (n_mels, n_freqs) triangles
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]  # Slaney: unit area per band
    return torch.as_tensor(weights, dtype=torch.float32)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None
                   ) -> torch.Tensor:
    """The Slaney mel filterbank [n_mels, n_fft // 2 + 1], float32 (librosa.filters.mel's default)."""
    top = sample_rate / 2.0 if f_max is None else float(f_max)
    if n_mels < 1 or n_fft < 2 or not 0.0 <= f_min < top <= sample_rate / 2.0:
        raise ValueError(f"a mel filterbank needs n_mels >= 1, n_fft >= 2 and 0 <= f_min < f_max <= rate / 2; got "
                         f"n_mels={n_mels}, n_fft={n_fft}, f_min={f_min}, f_max={top}, rate={sample_rate}")
    return _filterbank(int(sample_rate), int(n_fft), int(n_mels), float(f_min), float(top)).clone()


@lru_cache(maxsize=8)
def _window(n_fft: int) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, dtype=torch.float32)


def _stft(audio: torch.Tensor, s: MelSettings) -> torch.Tensor:
    """Centred STFT of audio [N, T]: complex [N, n_fft // 2 + 1, 1 + T // hop] (reflect padding, zero when too short)."""
    pad = s.n_fft // 2
    mode = "reflect" if audio.shape[-1] > pad else "constant"
    padded = torch.nn.functional.pad(audio[:, None, :], (pad, pad), mode=mode)[:, 0]  # (N, T + n_fft)
    return torch.stft(padded, s.n_fft, s.hop_length, s.n_fft, _window(s.n_fft).to(audio.device), center=False,
                      return_complex=True)


def log_mel(audio: torch.Tensor | np.ndarray, config: Any = None) -> torch.Tensor:
    """log(max(fb @ |STFT(audio)|, 1e-5)): audio [..., T] float -> [..., n_mels, ceil(T / hop)], float32.

    ``config``: ``MelSettings``, a model's ``spec.config`` or anything with those fields (default:
    ``MelSettings()``, the WaveNet defaults).
    """
    s = MelSettings.of(config if config is not None else MelSettings())
    x = torch.as_tensor(np.asarray(audio) if isinstance(audio, np.ndarray) else audio).to(torch.float32)
    lead, t = x.shape[:-1], int(x.shape[-1])
    n_frames = s.frames(t)
    if n_frames == 0:
        return torch.zeros(*lead, s.n_mels, 0)
    flat = x.reshape(-1, t)  # (N, T)
    mag = _stft(flat, s).abs()[:, :, :n_frames]  # (N, n_freqs, F)
    fb = mel_filterbank(s.sample_rate, s.n_fft, s.n_mels, s.f_min, s.f_max).to(x.device)
    mel = torch.log(torch.clamp(fb @ mag, min=LOG_FLOOR))  # (N, n_mels, F)
    return mel.reshape(*lead, s.n_mels, n_frames)


def log_mel_for(spec_config: Mapping[str, Any]) -> Callable[[torch.Tensor | np.ndarray], torch.Tensor]:
    """``log_mel`` with a model's settings (its ``spec.config``): audio [..., T] -> [..., n_mels, F]."""
    s = MelSettings.of(spec_config)
    return lambda audio: log_mel(audio, s)


DISTANCE_RANGE_DB = 60.0  # mel_distance looks at the top 60 dB of the reference (8-bit mu-law holds ~38 dB of SNR)


def mel_distance(a: torch.Tensor | np.ndarray, ref: torch.Tensor | np.ndarray,
                 range_db: float | None = DISTANCE_RANGE_DB) -> float:
    """Mean |a - ref| of two log-mels [n_mels, F] over their common frames, in nats (1 nat = 8.7 dB).

    Both are first raised to ``range_db`` below the reference's loudest bin, so that quiet bins far
    under any 8-bit coding's noise (the 1e-5 floor is 108 dB down) do not dominate; None compares as is.
    """
    a, b = torch.as_tensor(a, dtype=torch.float32), torch.as_tensor(ref, dtype=torch.float32)
    f = min(a.shape[-1], b.shape[-1])
    if f == 0:
        raise ValueError("no common frames to compare")
    a, b = a[..., :f], b[..., :f]
    if range_db is not None:
        floor = float(b.max()) - range_db / (20.0 / math.log(10.0))  # dB -> nats of magnitude
        a, b = a.clamp(min=floor), b.clamp(min=floor)
    return float((a - b).abs().mean())


def griffin_lim(mel: torch.Tensor | np.ndarray, config: Any = None, length: int | None = None, n_iter: int = 32,
                momentum: float = 0.99, seed: int = 0) -> torch.Tensor:
    """Audio [T] from a log-mel [n_mels, F]: the magnitude by non-negative least squares, the phase by Griffin-Lim.

    ``length``: samples to return (default F * hop). Deterministic for a given ``seed``.
    """
    s = MelSettings.of(config if config is not None else MelSettings())
    m = torch.exp(torch.as_tensor(mel, dtype=torch.float32))  # (n_mels, F) mel magnitudes
    n_frames = int(m.shape[-1])
    t = n_frames * s.hop_length if length is None else int(length)
    if n_frames == 0 or t == 0:
        return torch.zeros(t)
    fb = mel_filterbank(s.sample_rate, s.n_fft, s.n_mels, s.f_min, s.f_max)
    mag = torch.clamp(torch.linalg.pinv(fb) @ m, min=0.0)  # (n_freqs, F) least squares, clipped at 0
    # A frame whose mel is the floor came from silence: keep it silent rather than at the floor's level.
    mag = torch.where(m.max(0, keepdim=True).values <= LOG_FLOOR * 1.001, torch.zeros_like(mag), mag)
    g = torch.Generator().manual_seed(seed)
    angles = torch.exp(2j * math.pi * torch.rand(mag.shape, generator=g)).to(torch.complex64)
    window = _window(s.n_fft)
    total = n_frames * s.hop_length  # the signal istft rebuilds: frames centred at j * hop
    prev = torch.zeros_like(angles)
    audio = torch.zeros(total)
    for _ in range(max(1, n_iter)):
        spec = mag * angles
        audio = torch.istft(spec, s.n_fft, s.hop_length, s.n_fft, window, center=True, length=total)
        rebuilt = _stft(audio[None], s)[0][:, :n_frames]
        angles_new = rebuilt - (momentum / (1 + momentum)) * prev
        prev = rebuilt
        angles = angles_new / torch.clamp(angles_new.abs(), min=1e-16)
    audio = torch.istft(mag * angles, s.n_fft, s.hop_length, s.n_fft, window, center=True, length=total)
    if t <= total:
        return audio[:t]
    return torch.nn.functional.pad(audio, (0, t - total))
