"""bach-chorales: the Bach chorales bundled with music21 (371) as piano performances in events.

Each chorale (``corpus.chorales.Iterator``, in its order) becomes one performance on one piano:
its voices merged (the parts named Soprano, Alto, Tenor or Bass when the score names them, so
that the trumpets, timpani and continuo of a few cantata movements are left out; all parts
otherwise), tied notes joined, at the score's first metronome mark or ``QPM`` (100 quarter notes
a minute; the chorales have none), with the velocity of the score's dynamics where it has them
(music21's volume scalar of the last dynamic mark, x 127) and ``DEFAULT_VELOCITY`` (80) otherwise.
Fermatas are not held.

The notes are parsed once (about two minutes) and cached as .npz under the user cache folder
(``arstudio.modalities.music.data.cache_dir``), named by a hash of the settings here; a cache
built elsewhere serves without music21. The split is by chorale: ``N_HELD`` in valid and again in
test (``fixed_split``, seed 0); the training chorales are augmented (``arstudio.modalities.music.
data``: transpositions -3..+3 semitones, time stretches x0.95 and x1.05). Windows are ``LENGTH``
events, the context of the shipped Music Transformers, whose recipes (``ARSTUDIO_THREADS=1``, 2 CPU
cores) differ only in the attention:

    arstudio train music_transformer --data bach-chorales --steps 1000 --batch-size 4 --lr 0.001
        --config d_model=128 --config n_layers=4 --config n_heads=4 --config d_ff=512 --config dropout=0.1
        --config attention=relative --out models/music_transformer-bach.safetensors
    (the same with --config attention=absolute --out models/music_transformer_abs-bach.safetensors)
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from arstudio.data.datasets import fixed_split, register_dataset
from arstudio.modalities.music.data import TRANSPOSE, STRETCH, MusicDataset, Pieces, cache_dir, music_dataset
from arstudio.modalities.music.events import DEFAULT_VELOCITY, Note

QPM = 100.0  # quarter notes a minute when a score has no metronome mark
N_HELD = 37  # chorales in valid, and again in test (10% each)
LENGTH = 1024  # events per window
VERSION = 1  # bump when anything below changes what is parsed
VOICES = ("soprano", "alto", "tenor", "bass")
MISSING = "music21 is not installed (pip install music21); it is needed once, to build bach-chorales"


class Music21MissingError(ValueError):
    """music21 is needed to build bach-chorales and is not installed."""


def score_notes(score: object, qpm: float = QPM, velocity: int = DEFAULT_VELOCITY) -> list[Note]:
    """A music21 score's notes as one performance (see the module docstring)."""
    from music21 import dynamics, tempo

    parts = list(score.parts)  # type: ignore[attr-defined]
    vocal = [p for p in parts if any(v in (p.partName or "").lower() for v in VOICES)]
    if len(vocal) >= 2:
        parts = vocal
    marks = list(score.flatten().getElementsByClass(tempo.MetronomeMark))  # type: ignore[attr-defined]
    q = float(marks[0].getQuarterBPM() or qpm) if marks else qpm
    sec = 60.0 / q
    notes: list[Note] = []
    for part in parts:
        flat = part.stripTies().flatten()
        dyn = sorted((float(d.offset), d.volumeScalar) for d in flat.getElementsByClass(dynamics.Dynamic))
        for n in flat.notes:
            length = float(n.quarterLength)
            if length <= 0:  # grace notes
                continue
            start = float(n.offset)
            vel = velocity
            marks_before = [s for o, s in dyn if o <= start and s is not None]
            if marks_before:
                vel = max(1, min(127, round(marks_before[-1] * 127)))
            for p in n.pitches:
                if 0 <= p.midi < 128:
                    notes.append(Note(start * sec, (start + length) * sec, int(p.midi), int(vel)))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def parse_chorales(progress: bool = True) -> Pieces:
    """Every chorale of the music21 corpus as notes (slow: about two minutes)."""
    try:
        from music21 import corpus
    except ImportError:
        raise Music21MissingError(MISSING) from None
    names = list(corpus.chorales.Iterator(returnType="filename"))
    if not names:
        raise ValueError("music21's corpus has no Bach chorales (is its corpus installed?)")
    pieces = []
    for k, name in enumerate(names):
        if progress and (k % 25 == 0 or k == len(names) - 1):
            print(f"parsing the Bach chorales with music21 (once): {k + 1}/{len(names)}", file=sys.stderr, flush=True)
        pieces.append(score_notes(corpus.parse(name)))
    kept = [(n, p) for n, p in zip(names, pieces) if p]
    return Pieces.of([p for _, p in kept], [str(n) for n, _ in kept])


def chorale_pieces(cache: Path | None = None) -> Pieces:
    """The chorales' notes, from the cache or parsed (and cached) now."""
    key = {"version": VERSION, "qpm": QPM, "velocity": DEFAULT_VELOCITY, "voices": list(VOICES)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    path = (cache if cache is not None else cache_dir()) / f"bach-chorales-{digest}.npz"
    if path.exists():
        try:
            return Pieces.load(path)
        except ValueError:
            pass  # a broken cache is built again
    pieces = parse_chorales()
    pieces.save(path)
    return pieces


def build_chorales(length: int = LENGTH, held: int = N_HELD, cache: Path | None = None) -> MusicDataset:
    """The bach-chorales data set with windows of ``length`` events."""
    pieces = chorale_pieces(cache)
    split = fixed_split(len(pieces), held, held, seed=0)
    minutes = pieces.seconds() / 60
    desc = (f"Bach chorales (music21), {len(pieces)} pieces ({minutes:.0f} minutes at {QPM:g} bpm), as piano "
            f"performance events; training pieces transposed {min(TRANSPOSE):+d}..{max(TRANSPOSE):+d} and stretched "
            f"x{min(STRETCH):g}..x{max(STRETCH):g}; windows of {length} events")
    return music_dataset("bach-chorales", desc, pieces, split, length)


@register_dataset("bach-chorales", modality="music")
def bach_chorales() -> MusicDataset:
    """The Bach chorales of music21 as performance events, windows of 1,024 (needs music21 once)."""
    return build_chorales()
