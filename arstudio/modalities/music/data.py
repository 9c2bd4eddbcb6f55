"""Music data sets: pieces as performance events, split by piece, cut into windows of ``length`` events.

A music set is a list of pieces (each a list of ``Note``). The split is by piece (a seeded
permutation of their indices, recorded by checkpoints), so no held-out piece was heard in
training, in any key or tempo. The training pieces are augmented when the set is built, as
Huang et al. 2018 do: every transposition in ``TRANSPOSE`` (pieces that would leave the MIDI range
in that key are left out of it) times every time stretch in ``STRETCH``.

Each split becomes one stream of events: its pieces (the augmented versions of the training
pieces in a seeded random order, so that a window never joins two versions of one piece by
design; the held-out pieces in index order) encoded one by one, so that each starts with its own
velocity event, and joined by a 1 s time shift, a silence between pieces. The stream is cut into
windows [N, length] int64: every ``length // 2`` events for training, without overlap for valid
and test (each held-out event is scored once; the stream's tail shorter than a window is left
out).

Registered sets (``arstudio.datasets`` entry points): ``bach-chorales`` (``arstudio.modalities.music.
chorales``: the music21 corpus, parsed once and cached) and ``scales`` (scales and arpeggios the
project generates, for tests and tiny builds; no music21).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from arstudio.core.spec import Layout, ValueSpace
from arstudio.data.datasets import Dataset, fixed_split, register_dataset
from arstudio.modalities.music.events import GAP_EVENT, N_PITCHES, VOCAB, Note, event_labels, notes_to_events

TRANSPOSE = (-3, -2, -1, 0, 1, 2, 3)  # semitones
STRETCH = (0.95, 1.0, 1.05)  # time stretch factors


def cache_dir() -> Path:
    """Where built data sets are kept: ``ARSTUDIO_CACHE`` or the platform's user cache folder."""
    env = os.environ.get("ARSTUDIO_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("arstudio", appauthor=False))


@dataclass
class Pieces:
    """Whole pieces: their notes as flat arrays with offsets, and their names."""

    start: np.ndarray  # (total,) float64 seconds
    end: np.ndarray  # (total,) float64 seconds
    pitch: np.ndarray  # (total,) int16
    velocity: np.ndarray  # (total,) int16
    offsets: np.ndarray  # (n + 1,) int64: piece i is [offsets[i], offsets[i + 1])
    names: list[str]

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def of(cls, pieces: Sequence[Sequence[Note]], names: Sequence[str]) -> "Pieces":
        """Flatten lists of notes."""
        flat = [n for p in pieces for n in p]
        offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
        a = np.asarray([tuple(n) for n in flat], dtype=np.float64).reshape(-1, 4)
        return cls(a[:, 0].copy(), a[:, 1].copy(), a[:, 2].astype(np.int16), a[:, 3].astype(np.int16), offsets,
                   list(names))

    def notes(self, i: int) -> list[Note]:
        """The notes of piece i."""
        s, e = int(self.offsets[i]), int(self.offsets[i + 1])
        return [Note(float(a), float(b), int(p), int(v))
                for a, b, p, v in zip(self.start[s:e], self.end[s:e], self.pitch[s:e], self.velocity[s:e])]

    def seconds(self, idx: Sequence[int] | None = None) -> float:
        """Total duration of the pieces ``idx`` (all by default): each piece's last note end."""
        idx = range(len(self)) if idx is None else idx
        return float(sum(self.end[self.offsets[i]:self.offsets[i + 1]].max(initial=0.0) for i in idx))

    def save(self, path: Path) -> None:
        """Write to an .npz file atomically."""
        from arstudio.core.atomic import atomic_replace

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_replace(path, lambda f: np.savez(f, start=self.start, end=self.end, pitch=self.pitch,
                                                velocity=self.velocity, offsets=self.offsets,
                                                names=np.asarray(self.names, dtype=str)))

    @classmethod
    def load(cls, path: Path) -> "Pieces":
        """Read what ``save`` wrote; ValueError when the file is not one."""
        try:
            with np.load(path, allow_pickle=False) as z:
                out = cls(z["start"], z["end"], z["pitch"], z["velocity"], z["offsets"], [str(s) for s in z["names"]])
        except (OSError, KeyError, ValueError, EOFError) as e:
            raise ValueError(f"{path}: is not a cached music data set ({e})") from None
        if len(out.offsets) != len(out.names) + 1 or int(out.offsets[-1]) != len(out.start):
            raise ValueError(f"{path}: is not a cached music data set (its offsets do not match)")
        return out


@dataclass
class MusicDataset(Dataset):
    """Windows of event ids [N, length] int64; the split is by piece."""

    pieces: dict[str, list[str]] = field(default_factory=dict)  # names of each split's pieces
    events: dict[str, int] = field(default_factory=dict)  # events in each split's stream
    seconds: dict[str, float] = field(default_factory=dict)  # music in each split (train: augmented)
    augmentation: dict[str, Any] = field(default_factory=dict)

    def model_config(self) -> dict[str, Any]:
        """What a music model takes from its data: the vocabulary (388 events) and the window length."""
        return {"vocab": VOCAB, "length": int(self.layout.shape[0])}

    def recorded_split(self, split: str, indices: list[int] | None) -> tuple[torch.Tensor, torch.Tensor | None, str]:
        """Windows of ``split`` when a checkpoint's recorded pieces are today's; else a clear error."""
        if indices is None:
            return getattr(self, split), None, " (the checkpoint records no split: the data set's own)"
        if list(indices) == list(self.split.get(split, [])):
            return getattr(self, split), None, ""
        raise ValueError(f"the checkpoint's {split} pieces differ from today's {self.name} split")

    def meta(self) -> dict[str, Any]:
        return {**super().meta(), "unit": "pieces", "length": int(self.layout.shape[0]),
                "held_out_pieces": {k: list(self.pieces.get(k, [])) for k in ("valid", "test")},
                "events": dict(self.events), "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
                "windows": {k: int(len(getattr(self, k))) for k in ("train", "valid", "test")},
                "augmentation": dict(self.augmentation)}


def transposed(notes: Sequence[Note], semitones: int, stretch: float = 1.0) -> list[Note] | None:
    """The notes moved by ``semitones`` and their times scaled by ``stretch``; None if a pitch leaves 0..127."""
    out = [Note(n.start * stretch, n.end * stretch, n.pitch + semitones, n.velocity) for n in notes]
    if any(not 0 <= n.pitch < N_PITCHES for n in out):
        return None
    return out


def stream(pieces: Sequence[Sequence[Note]]) -> np.ndarray:
    """The pieces encoded one by one and joined by a 1 s shift, as int16 ids."""
    parts: list[int] = []
    for i, notes in enumerate(pieces):
        if i:
            parts.append(GAP_EVENT)
        parts += notes_to_events(notes)
    return np.asarray(parts, dtype=np.int16)


def cut(events: np.ndarray, length: int, stride: int) -> torch.Tensor:
    """Windows [N, length] int64 of a stream every ``stride`` events (none if it is shorter than a window)."""
    if len(events) < length:
        return torch.zeros(0, length, dtype=torch.long)
    starts = range(0, len(events) - length + 1, stride)
    x = torch.as_tensor(events.astype(np.int64))
    return torch.stack([x[s:s + length] for s in starts])  # (N, length)


def augmented(pieces: Pieces, idx: Sequence[int], transpose: Sequence[int], stretch: Sequence[float],
              seed: int = 0) -> list[list[Note]]:
    """Every version of pieces ``idx`` (transposition x stretch, in range), in a seeded random order."""
    versions = []
    for i in idx:
        notes = pieces.notes(i)
        for k in transpose:
            for f in stretch:
                v = transposed(notes, k, f)
                if v is not None:
                    versions.append(v)
    order = np.random.default_rng(seed).permutation(len(versions))
    return [versions[j] for j in order]


def music_dataset(name: str, description: str, pieces: Pieces, split: dict[str, list[int]], length: int,
                  transpose: Sequence[int] = TRANSPOSE, stretch: Sequence[float] = STRETCH,
                  train_stride: int | None = None) -> MusicDataset:
    """A ``MusicDataset`` of ``pieces`` split by ``split`` (piece indices), windows of ``length`` events."""
    parts: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for k, idx in split.items():
        if k == "train":
            versions = augmented(pieces, idx, transpose, stretch)
            seconds[k] = sum(max((n.end for n in v), default=0.0) for v in versions)
        else:
            versions = [pieces.notes(i) for i in idx]
            seconds[k] = pieces.seconds(idx)
        events = stream(versions)
        counts[k] = len(events)
        parts[k] = cut(events, length, (train_stride or max(1, length // 2)) if k == "train" else length)
        if not len(parts[k]):
            raise ValueError(f"the {k} pieces of {name} give {len(events)} events, fewer than one window of {length}")
    values = ValueSpace("categorical", VOCAB, labels=event_labels())
    return MusicDataset(name, description, Layout("music", (length,)), values, parts["train"], parts["valid"],
                        parts["test"], split, pieces={k: [pieces.names[i] for i in idx] for k, idx in split.items()},
                        events=counts, seconds=seconds,
                        augmentation={"transpose": list(transpose), "stretch": list(stretch)})


# ---- scales: a tiny synthetic set for tests and tiny builds -----------------------------------------

SCALES_LENGTH = 64
_MAJOR = (0, 2, 4, 5, 7, 9, 11, 12)
_MINOR = (0, 2, 3, 5, 7, 8, 10, 12)


def scale_piece(i: int) -> tuple[str, list[Note]]:
    """Piece i of ``scales``: a major or minor scale up and down, then its tonic arpeggio and chord."""
    rng = np.random.default_rng(i)
    tonic = 48 + i % 24
    minor = bool(i // 24 % 2)
    steps = _MINOR if minor else _MAJOR
    beat = float(rng.choice([0.15, 0.2, 0.25, 0.3]))
    vel = int(rng.choice([48, 64, 80, 96, 112]))
    notes: list[Note] = []
    t = 0.0
    for d in (*steps, *steps[-2::-1]):
        notes.append(Note(t, t + beat * 0.9, tonic + d, vel))
        t += beat
    for d in (0, steps[2], 7, 12, 7, steps[2]):
        notes.append(Note(t, t + beat * 1.8, tonic + d, max(1, vel - 16)))
        t += beat
    for d in (0, steps[2], 7, 12):  # the closing chord, held for two beats
        notes.append(Note(t, t + beat * 4, tonic + d, vel))
    return f"{'c c# d d# e f f# g g# a a# b'.split()[tonic % 12]}{tonic // 12 - 1} {'minor' if minor else 'major'} "\
        f"at {beat * 1000:.0f} ms, velocity {vel}", notes


def scales_pieces(n: int = 96) -> Pieces:
    """The ``n`` generated pieces of ``scales``."""
    made = [scale_piece(i) for i in range(n)]
    return Pieces.of([p for _, p in made], [name for name, _ in made])


@register_dataset("scales", modality="music")
def scales() -> MusicDataset:
    """Scales and arpeggios in 24 keys, major and minor, generated (no music21): windows of 64 events."""
    pieces = scales_pieces()
    split = fixed_split(len(pieces), 8, 8, seed=0)
    return music_dataset("scales", "Scales and arpeggios, major and minor, in 24 keys (generated), as performance "
                         f"events in windows of {SCALES_LENGTH}", pieces, split, SCALES_LENGTH,
                         transpose=(0,), stretch=(1.0,))
