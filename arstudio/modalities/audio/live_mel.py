"""The log-mel of audio that is still being written, computed a few new frames at a time (numpy, no Qt).

Frames follow the model's own log-mel (``arstudio.modalities.audio.mel.log_mel``: Slaney
filterbank, periodic Hann window of ``n_fft``, frame j centred on sample j hop, reflect padding,
log of the magnitude clamped at 1e-5). Frame j needs the samples up to j hop + n_fft / 2, so while
samples arrive only the frames that have them all are computed, each once; ``update(final=True)``
adds the last ones with the end reflected, after which the frames equal ``log_mel`` of the whole
audio. The cost per redraw is a handful of FFTs, cheap enough for the GUI thread.
"""

from __future__ import annotations

import numpy as np

from arstudio.modalities.audio.mel import LOG_FLOOR, MelSettings, mel_filterbank, mel_to_hz, hz_to_mel


class LiveMel:
    """The log-mel frames [count, n_mels] of the samples seen so far, in an array allocated once."""

    def __init__(self, settings: MelSettings, capacity: int) -> None:
        self.s = settings
        self.fb = mel_filterbank(settings.sample_rate, settings.n_fft, settings.n_mels, settings.f_min,
                                 settings.f_max).numpy().T.astype(np.float32)  # (n_freqs, n_mels)
        n = np.arange(settings.n_fft)
        self.window = (0.5 - 0.5 * np.cos(2 * np.pi * n / settings.n_fft)).astype(np.float32)  # periodic Hann
        self.offsets = n - settings.n_fft // 2  # sample offsets of a frame around its centre
        self.frames = np.zeros((max(1, settings.frames(capacity)), settings.n_mels), np.float32)
        self.count = 0
        self.peak = -np.inf  # the largest value computed so far

    def reset(self) -> None:
        """Forget the frames (a new run); the array is reused."""
        self.count, self.peak = 0, -np.inf

    def ready(self, n: int, final: bool = False) -> int:
        """How many frames the first ``n`` samples determine (all ceil(n / hop) of them when ``final``)."""
        hop, pad = self.s.hop_length, self.s.n_fft // 2
        done = self.s.frames(n)
        if not final:
            done = min(done, (n - pad) // hop + 1 if n >= pad else 0)
        return min(done, len(self.frames))

    def update(self, audio: np.ndarray, n: int, final: bool = False) -> int:
        """Compute the frames the first ``n`` samples of ``audio`` newly determine; returns the frame count."""
        want = self.ready(n, final)
        if want <= self.count or n == 0:
            return self.count
        centres = np.arange(self.count, want) * self.s.hop_length
        idx = centres[:, None] + self.offsets[None, :]  # (k, n_fft)
        x = np.asarray(audio[:n], dtype=np.float32)
        if n > self.s.n_fft // 2:  # reflect at both ends, as log_mel pads
            idx = np.abs(idx)
            idx = np.where(idx >= n, 2 * (n - 1) - idx, idx)
            seg = x[idx]
        else:  # too short to reflect: zeros, as log_mel pads then
            inside = (idx >= 0) & (idx < n)
            seg = np.where(inside, x[np.clip(idx, 0, n - 1)], 0.0).astype(np.float32)
        mag = np.abs(np.fft.rfft(seg * self.window, axis=1)).astype(np.float32)  # (k, n_freqs)
        mel = np.log(np.maximum(mag @ self.fb, LOG_FLOOR))  # (k, n_mels)
        self.frames[self.count:want] = mel
        self.peak = max(self.peak, float(mel.max()))
        self.count = want
        return self.count

    def band_hz(self) -> np.ndarray:
        """The centre frequency of each mel band, Hz [n_mels]."""
        edges = np.linspace(hz_to_mel(self.s.f_min), hz_to_mel(self.s.f_max), self.s.n_mels + 2)
        return mel_to_hz(edges[1:-1])
