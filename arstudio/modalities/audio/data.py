"""Audio data sets: utterances of mu-law codes cut into windows, with their conditioning rows.

An audio set is a list of utterances (mu-law codes at 16 kHz, each with a voice and the log-mel
of its audio before mu-law coding). The split is by utterance (a seeded permutation of their
indices, recorded by checkpoints), so no held-out sound was heard in training. Each split's
utterances are cut into windows of ``window`` samples that start on mel-frame boundaries
(non-overlapping; an utterance's tail of at least half a window becomes one more window, ending
on a frame boundary). ``labels[split]`` holds one conditioning row per window in the format of
``arstudio.modalities.audio.condition``: the voice and the log-mel frames of that window, sliced
from the whole utterance's log-mel (so a window's frames see the sound around its edges, as a
file's mel does). The training loop (``arstudio.train.fit``) passes them to the model as ``cond``.

Registered sets (``arstudio.datasets`` entry points): ``speech16k`` (espeak-ng speech,
``arstudio.modalities.audio.speech``) and ``tones16k`` (synthetic tones, ``...audio.tones``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from arstudio.core.spec import Layout, ValueSpace
from arstudio.data.datasets import Dataset
from arstudio.modalities.audio.condition import pack_condition
from arstudio.modalities.audio.mel import MelSettings
from arstudio.modalities.audio.mulaw import LEVELS, level_labels

SAMPLE_RATE = 16000
MAX_SECONDS = 10  # the longest sample a model of these sets writes (its layout length)


@dataclass
class Utterances:
    """Whole utterances: codes (uint8, concatenated), their offsets, voices, texts and float16 log-mels."""

    codes: np.ndarray  # (total,) uint8 mu-law codes
    offsets: np.ndarray  # (n + 1,) int64: utterance i is codes[offsets[i]:offsets[i + 1]]
    voice: np.ndarray  # (n,) int64 voice index
    mels: list[np.ndarray]  # n arrays [n_mels, ceil(len / hop)], float16
    texts: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.voice)

    def codes_of(self, i: int) -> np.ndarray:
        """The mu-law codes of utterance i, int64."""
        return self.codes[self.offsets[i]:self.offsets[i + 1]].astype(np.int64)

    def seconds(self, idx: list[int] | None = None, rate: int = SAMPLE_RATE) -> float:
        """Duration of the utterances ``idx`` (all by default) in seconds."""
        lengths = np.diff(self.offsets)
        return float(lengths[idx].sum() if idx is not None else lengths.sum()) / rate

    def save(self, path: Path) -> None:
        """Write to an .npz file atomically (the mels concatenated along frames)."""
        from arstudio.core.atomic import atomic_replace

        frames = np.asarray([m.shape[1] for m in self.mels], dtype=np.int64)
        mel = np.concatenate(self.mels, axis=1) if self.mels else np.zeros((0, 0), np.float16)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_replace(path, lambda f: np.savez(f, codes=self.codes, offsets=self.offsets, voice=self.voice,
                                                mel=mel, frames=frames, texts=np.asarray(self.texts, dtype=str)))

    @classmethod
    def load(cls, path: Path) -> "Utterances":
        """Read what ``save`` wrote; ValueError when the file is not one."""
        try:
            with np.load(path, allow_pickle=False) as z:
                frames = z["frames"]
                cuts = np.concatenate([[0], np.cumsum(frames)])
                mel = z["mel"]
                mels = [mel[:, cuts[i]:cuts[i + 1]] for i in range(len(frames))]
                return cls(z["codes"], z["offsets"], z["voice"], mels, [str(t) for t in z["texts"]])
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"{path}: is not a cached audio data set ({e})") from None


def cache_dir() -> Path:
    """Where built data sets are kept: ``ARSTUDIO_CACHE`` or the platform's user cache folder."""
    env = os.environ.get("ARSTUDIO_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("arstudio", appauthor=False))


@dataclass
class AudioDataset(Dataset):
    """Windows of mu-law codes [N, window] with conditioning rows; the held-out utterances kept whole."""

    voices: list[str] = field(default_factory=list)
    mel: MelSettings = field(default_factory=MelSettings)
    window: int = 8192
    utterances: dict[str, list[tuple[int, np.ndarray]]] = field(default_factory=dict)  # valid / test: (voice, codes)
    seconds: dict[str, float] = field(default_factory=dict)
    held_mels: dict[str, list[np.ndarray]] = field(default_factory=dict)  # valid / test: each utterance's log-mel

    def model_config(self) -> dict[str, Any]:
        """What an audio model takes from its data: rate, longest sample, levels, voices and the mel settings."""
        m = self.mel
        return {"sample_rate": m.sample_rate, "length": m.sample_rate * MAX_SECONDS, "levels": LEVELS,
                "voices": list(self.voices), "n_mels": m.n_mels, "hop_length": m.hop_length, "n_fft": m.n_fft,
                "f_min": m.f_min, "f_max": m.f_max}

    def recorded_split(self, split: str, indices: list[int] | None) -> tuple[torch.Tensor, torch.Tensor | None, str]:
        """Windows and rows of ``split`` when a checkpoint's recorded utterances are today's; else a clear error."""
        if indices is None:
            return getattr(self, split), self.labels.get(split), " (the checkpoint records no split: the data set's own)"
        if list(indices) == list(self.split.get(split, [])):
            return getattr(self, split), self.labels.get(split), ""
        raise ValueError(f"the checkpoint's {split} utterances differ from today's {self.name} split")

    def meta(self) -> dict[str, Any]:
        return {**super().meta(), "unit": "utterances", "window": self.window, "voices": list(self.voices),
                "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
                "windows": {k: int(len(getattr(self, k))) for k in ("train", "valid", "test")}}


def window_starts(n: int, window: int, hop: int) -> list[int]:
    """Starts of the windows of an utterance of ``n`` samples (on frame boundaries; see the module docstring)."""
    starts = list(range(0, n - window + 1, window))
    rest = n - (starts[-1] + window if starts else 0)
    if rest >= window // 2 and n >= window:
        last = (n - window) // hop * hop
        if not starts or last > starts[-1]:
            starts.append(last)
    return starts


def cut_windows(utts: Utterances, idx: list[int], window: int, hop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows [N, window] int64 and conditioning rows [N, 1 + n_mels * window / hop] float32 of utterances ``idx``."""
    if window % hop:
        raise ValueError(f"a window of {window} samples is not a whole number of {hop}-sample frames")
    frames = window // hop
    xs, rows = [], []
    for i in idx:
        codes = utts.codes_of(i)
        mel = utts.mels[i].astype(np.float32)
        for s in window_starts(len(codes), window, hop):
            xs.append(codes[s:s + window])
            f0 = s // hop
            rows.append(pack_condition(int(utts.voice[i]), mel[:, f0:f0 + frames]))
    if not xs:
        raise ValueError(f"no utterance is as long as a window of {window} samples")
    return torch.as_tensor(np.stack(xs)), torch.as_tensor(np.stack(rows))


def audio_dataset(name: str, description: str, utts: Utterances, split: dict[str, list[int]], voices: list[str],
                  mel: MelSettings, window: int) -> AudioDataset:
    """An ``AudioDataset`` of utterances split by ``split`` (utterance indices per split)."""
    parts, labels = {}, {}
    for k, idx in split.items():
        parts[k], labels[k] = cut_windows(utts, idx, window, mel.hop_length)
    held = {k: [(int(utts.voice[i]), utts.codes_of(i)) for i in split[k]] for k in ("valid", "test")}
    held_mels = {k: [utts.mels[i].astype(np.float32) for i in split[k]] for k in ("valid", "test")}
    values = ValueSpace("categorical", LEVELS, labels=level_labels(LEVELS))
    seconds = {k: utts.seconds(idx, mel.sample_rate) for k, idx in split.items()}
    return AudioDataset(name, description, Layout("audio", (window,)), values, parts["train"], parts["valid"],
                        parts["test"], split, labels, voices=list(voices), mel=mel, window=window, utterances=held,
                        seconds=seconds, held_mels=held_mels)
