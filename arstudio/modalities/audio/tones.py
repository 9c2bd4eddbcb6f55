"""tones16k: a small synthetic audio set generated with numpy, needing no espeak-ng.

Each clip (1.024 s at 16 kHz) is a few events in one of four "voices", i.e. timbres: ``pure``
(a sine with a weak octave), ``hollow`` (odd harmonics, 1/k), ``bright`` (all harmonics, 1/k) and
``bell`` (inharmonic partials at 1, 2.76, 5.40, 8.93 times f0, each decaying). An event is a held
note with vibrato (4-7 Hz, up to 2 %), a glide (an exponential sweep between two pitches) or a
burst of noise shaped by the voice's brightness; events have attack and release ramps, random
gaps between them, and a random level. Clips are seeded, so the set is the same on every machine,
and it builds in about a second: the kind's tiny and test data, and a fallback without espeak-ng.
Same format as speech16k (``arstudio.modalities.audio.data``), windows of 4,096 samples.
"""

from __future__ import annotations

import numpy as np

from arstudio.data.datasets import fixed_split, register_dataset
from arstudio.modalities.audio.data import SAMPLE_RATE, AudioDataset, Utterances, audio_dataset
from arstudio.modalities.audio.mel import MelSettings, log_mel
from arstudio.modalities.audio.mulaw import mu_law_encode

VOICES = ("pure", "hollow", "bright", "bell")
N_CLIPS = 120
N_HELD = 12
CLIP = 16384  # samples per clip: 4 windows
WINDOW = 4096
SEED = 0


def _partials(voice: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency ratios, amplitudes, decay rates per second) of a voice."""
    k = np.arange(1, 13, dtype=np.float64)
    if voice == "pure":
        return np.array([1.0, 2.0]), np.array([1.0, 0.1]), np.zeros(2)
    if voice == "hollow":
        odd = k[k % 2 == 1]
        return odd, 1.0 / odd, np.zeros(len(odd))
    if voice == "bright":
        return k, 1.0 / k, np.zeros(len(k))
    if voice == "bell":
        return np.array([1.0, 2.76, 5.40, 8.93]), np.array([1.0, 0.6, 0.35, 0.2]), np.array([3.0, 5.0, 8.0, 12.0])
    raise ValueError(f"unknown tone voice {voice!r} (known: {', '.join(VOICES)})")


def _envelope(n: int, rng: np.random.Generator) -> np.ndarray:
    """Linear attack and release ramps over a sustain."""
    attack = max(1, min(n // 3, int(rng.uniform(0.005, 0.04) * SAMPLE_RATE)))
    release = max(1, min(n // 3, int(rng.uniform(0.02, 0.1) * SAMPLE_RATE)))
    env = np.ones(n)
    env[:attack] = np.linspace(0.0, 1.0, attack, endpoint=False)
    env[n - release:] = np.linspace(1.0, 0.0, release)
    return env


def _event(voice: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """One event of ``n`` samples in ``voice``: a note with vibrato, a glide, or a noise burst."""
    t = np.arange(n) / SAMPLE_RATE
    what = rng.choice(["note", "glide", "noise"], p=[0.5, 0.35, 0.15])
    if what == "noise":
        noise = rng.standard_normal(n)
        smooth = {"pure": 8, "hollow": 4, "bright": 1, "bell": 2}[voice]  # duller voices: smoother noise
        noise = np.convolve(noise, np.ones(smooth) / smooth, mode="same")
        return noise / (np.abs(noise).max() + 1e-9) * _envelope(n, rng)
    f0 = rng.uniform(110.0, 660.0)
    if what == "glide":
        f1 = f0 * 2.0 ** rng.uniform(-1.0, 1.0)
        f = f0 * (f1 / f0) ** (t / max(t[-1], 1e-9))
    else:
        f = f0 * (1.0 + rng.uniform(0.0, 0.02) * np.sin(2 * np.pi * rng.uniform(4.0, 7.0) * t))
    phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
    ratios, amps, decays = _partials(voice)
    out = np.zeros(n)
    for r, a, d in zip(ratios, amps, decays):
        if r * f.max() < 0.47 * SAMPLE_RATE:  # below Nyquist with a margin: no aliasing
            out += a * np.sin(r * phase + rng.uniform(0, 2 * np.pi)) * np.exp(-d * t)
    return out / (np.abs(out).max() + 1e-9) * _envelope(n, rng)


def clip(voice: str, rng: np.random.Generator, n: int = CLIP) -> np.ndarray:
    """One clip of ``n`` samples: events with gaps between them, float32 in [-1, 1]."""
    out = np.zeros(n)
    pos = int(rng.integers(0, SAMPLE_RATE // 20))
    while pos < n - SAMPLE_RATE // 20:
        length = int(min(n - pos, rng.uniform(0.12, 0.6) * SAMPLE_RATE))
        out[pos:pos + length] += rng.uniform(0.25, 0.8) * _event(voice, length, rng)
        pos += length + int(rng.uniform(0.0, 0.12) * SAMPLE_RATE)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def tone_utterances(n: int = N_CLIPS, voices: tuple[str, ...] = VOICES, mel: MelSettings | None = None,
                    seed: int = SEED, clip_len: int = CLIP) -> Utterances:
    """``n`` clips, clip i in voice i mod len(voices), mu-law coded, with their log-mels."""
    mel = mel or MelSettings()
    rng = np.random.default_rng(seed)
    audios = [clip(voices[i % len(voices)], rng, clip_len) for i in range(n)]
    codes = [mu_law_encode(a).astype(np.uint8) for a in audios]
    mels = [m.astype(np.float16) for m in log_mel(np.stack(audios), mel).numpy()]
    offsets = np.arange(n + 1, dtype=np.int64) * clip_len
    return Utterances(np.concatenate(codes), offsets, np.arange(n, dtype=np.int64) % len(voices), mels,
                      [f"{voices[i % len(voices)]} clip {i}" for i in range(n)])


def build_tones(name: str = "tones16k", n: int = N_CLIPS, held: int = N_HELD, window: int = WINDOW,
                mel: MelSettings | None = None) -> AudioDataset:
    """The tones data set (generated, not cached: it takes about a second)."""
    mel = mel or MelSettings()
    utts = tone_utterances(n, VOICES, mel)
    split = fixed_split(n, held, held, seed=0)
    desc = (f"synthetic tones, glides and noise bursts in {len(VOICES)} timbres, {n} clips of {CLIP / SAMPLE_RATE:.2f} s "
            f"({utts.seconds() / 60:.1f} minutes), 16 kHz 8-bit mu-law, windows of {window} samples with voice and "
            "log-mel")
    return audio_dataset(name, desc, utts, split, list(VOICES), mel, window)


@register_dataset("tones16k", modality="audio")
def tones16k() -> AudioDataset:
    """Synthetic tones in four timbres at 16 kHz mu-law: built in a second, no espeak-ng needed."""
    return build_tones()
