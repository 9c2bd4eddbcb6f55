"""8-bit mu-law companding (ITU-T G.711's continuous form, as in van den Oord et al. 2016, eq. 2).

f(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu), mu = 255, maps an amplitude in [-1, 1] to [-1, 1];
quantized to 256 levels, it gives the value codes 0..255 a WaveNet predicts (code 128 is ~0.0).
Decoding takes a code to the centre of its level and inverts f.
"""

from __future__ import annotations

import numpy as np

MU = 255
LEVELS = 256
SILENCE = LEVELS // 2  # the code of 0.0


def mu_law_encode(x: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """Amplitudes in [-1, 1] (clipped) as codes 0..levels-1, int64."""
    mu = levels - 1
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)  # in [-1, 1]
    return np.clip(np.floor((y + 1.0) / 2.0 * mu + 0.5), 0, mu).astype(np.int64)


def mu_law_decode(codes: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """Codes 0..levels-1 as amplitudes in [-1, 1], float32 (the inverse of ``mu_law_encode`` up to its level)."""
    mu = levels - 1
    y = np.asarray(codes, dtype=np.float64) / mu * 2.0 - 1.0
    x = np.sign(y) * ((1.0 + mu) ** np.abs(y) - 1.0) / mu
    return x.astype(np.float32)


def level_labels(levels: int = LEVELS) -> tuple[str, ...]:
    """The amplitude of each code as a display label ("+0.0312"), for the distribution view."""
    amps = mu_law_decode(np.arange(levels), levels)
    return tuple(f"{a:+.4f}" for a in amps)
