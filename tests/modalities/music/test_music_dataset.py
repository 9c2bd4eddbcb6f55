"""Music data sets: windows of events, a fixed split by piece, augmentation of the training pieces, the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from arstudio.data.datasets import dataset_modality, get_dataset
from arstudio.modalities.music import chorales
from arstudio.modalities.music.data import Pieces, augmented, music_dataset, scales_pieces, stream, transposed
from arstudio.modalities.music.events import GAP_EVENT, VOCAB, Note, event_type, events_to_notes, notes_to_events


def test_scales_is_a_music_set_of_event_windows() -> None:
    ds = get_dataset("scales")
    assert dataset_modality("scales") == "music" and ds.layout.modality == "music"
    assert ds.model_config() == {"vocab": 388, "length": 64}
    assert ds.values.n == VOCAB and ds.values.labels is not None and ds.values.labels[60] == "ON C4"
    for part in (ds.train, ds.valid, ds.test):
        assert part.dtype == torch.int64 and part.shape[1] == 64 and len(part) > 0
        assert int(part.min()) >= 0 and int(part.max()) < VOCAB
    split = ds.split
    assert set(split["train"]).isdisjoint(split["valid"]) and set(split["train"]).isdisjoint(split["test"])
    assert sorted(split["train"] + split["valid"] + split["test"]) == list(range(96))
    meta = ds.meta()
    assert meta["unit"] == "pieces" and len(meta["held_out_pieces"]["test"]) == 8


def _piece(pitch: int, n: int = 12, start: float = 0.0) -> list[Note]:
    return [Note(start + i * 0.25, start + i * 0.25 + 0.2, pitch + i % 5, 80) for i in range(n)]


def test_augmentation_transposes_and_stretches_only_the_training_pieces() -> None:
    pieces = Pieces.of([_piece(60 + i) for i in range(10)] + [_piece(123)], [f"p{i}" for i in range(11)])
    assert transposed(_piece(123), 3) is None  # 123 + 4 + 3 leaves the MIDI range
    assert [n.pitch for n in transposed(_piece(60), -2, 1.05)[:2]] == [58, 59]
    versions = augmented(pieces, [0, 1, 10], (-1, 0, 1), (0.95, 1.0, 1.05))
    assert len(versions) == 2 * 9 + 2 * 3  # piece 10 only at -1 and 0
    assert {round(max(n.end for n in v), 4) for v in versions} == {round(2.95 * f, 4) for f in (0.95, 1.0, 1.05)}
    split = {"train": [0, 1, 2, 3, 4, 5, 6], "valid": [7, 8], "test": [9, 10]}
    ds = music_dataset("t", "test set", pieces, split, length=16, transpose=(-1, 0, 1), stretch=(0.95, 1.0, 1.05))
    held = stream([pieces.notes(9), pieces.notes(10)])
    assert ds.events["test"] == len(held)
    assert torch.equal(ds.test.reshape(-1), torch.as_tensor(held[: len(ds.test) * 16].astype(np.int64)))
    assert ds.events["train"] > 7 * 9 * len(notes_to_events(_piece(60)))  # every version of every training piece
    assert len(ds.train) == (ds.events["train"] - 16) // 8 + 1  # windows every length // 2 events


def test_each_piece_of_a_stream_starts_with_its_velocity_after_a_second_of_silence() -> None:
    ev = stream([_piece(60, 3), _piece(62, 3)]).tolist()
    cut = ev.index(GAP_EVENT)
    assert event_type(ev[0]) == "velocity" and event_type(ev[cut + 1]) == "velocity"
    notes = events_to_notes(ev)
    assert notes[3].start == pytest.approx(notes[2].end + 1.0)


def test_pieces_survive_the_cache(tmp_path: Path) -> None:
    p = scales_pieces(5)
    p.save(tmp_path / "p.npz")
    q = Pieces.load(tmp_path / "p.npz")
    assert q.names == p.names and all(q.notes(i) == p.notes(i) for i in range(5))
    (tmp_path / "bad.npz").write_bytes(b"not a cache")
    with pytest.raises(ValueError, match="not a cached music data set"):
        Pieces.load(tmp_path / "bad.npz")


def test_bach_chorales_are_parsed_once_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def parse(progress: bool = True) -> Pieces:
        calls.append(1)
        return Pieces.of([_piece(48 + i % 24, 200) for i in range(60)], [f"bach/bwv{i}" for i in range(60)])

    monkeypatch.setattr(chorales, "parse_chorales", parse)
    a = chorales.build_chorales(length=128, held=6, cache=tmp_path)
    b = chorales.build_chorales(length=128, held=6, cache=tmp_path)
    assert calls == [1] and len(list(tmp_path.glob("bach-chorales-*.npz"))) == 1
    assert torch.equal(a.train, b.train) and a.split == b.split
    assert len(a.split["valid"]) == len(a.split["test"]) == 6 and len(a.split["train"]) == 48
    assert a.model_config() == {"vocab": 388, "length": 128}
    assert a.meta()["augmentation"] == {"transpose": [-3, -2, -1, 0, 1, 2, 3], "stretch": [0.95, 1.0, 1.05]}


def test_a_chorale_becomes_one_performance_of_its_voices() -> None:
    music21 = pytest.importorskip("music21")
    from music21 import dynamics, note, stream as m21stream

    score = m21stream.Score()
    for name, pitch in (("Soprano", "C5"), ("Alto", "G4"), ("Continuo", "C3")):
        part = m21stream.Part()
        part.partName = name
        a, b = note.Note(pitch, quarterLength=1.0), note.Note(pitch, quarterLength=1.0)
        a.tie, b.tie = music21.tie.Tie("start"), music21.tie.Tie("stop")  # one note of two beats
        part.append([a, b, note.Note(pitch, quarterLength=2.0)])
        if name == "Alto":
            part.insert(2.0, dynamics.Dynamic("ff"))
        score.insert(0, part)
    notes = chorales.score_notes(score, qpm=120)
    assert [(n.start, n.end, n.pitch) for n in notes] == [(0.0, 1.0, 67), (0.0, 1.0, 72), (1.0, 2.0, 67),
                                                         (1.0, 2.0, 72)]  # the continuo is left out
    assert [n.velocity for n in notes] == [80, 80, notes[2].velocity, 80] and notes[2].velocity > 80


def test_real_chorales_from_the_corpus() -> None:
    pytest.importorskip("music21")
    from music21 import corpus

    notes = chorales.score_notes(corpus.parse("bach/bwv269"))
    assert len(notes) > 150 and {n.velocity for n in notes} == {80}
    assert 36 <= min(n.pitch for n in notes) and max(n.pitch for n in notes) <= 84
    ev = notes_to_events(notes)
    assert 400 < len(ev) < 1200
