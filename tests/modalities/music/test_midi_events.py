"""Performance events: the 388-id vocabulary, notes <-> events, MIDI <-> events with mido (and pretty_midi)."""

from __future__ import annotations

import random
from pathlib import Path

import mido
import numpy as np
import pytest

from arstudio.io.errors import ExportError
from arstudio.modalities.music.events import (EVENT_RANGES, VOCAB, Note, event_label, event_labels, event_type,
                                              events_to_notes, notes_to_events, quantized)
from arstudio.modalities.music.midi import (MidiError, events_to_midi, midi_bytes, midi_to_events, midi_to_notes,
                                            read_midi_recipe)

from .conftest import midi_file, notes_track


def random_notes(seed: int, n: int = 60) -> list[Note]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = rng.uniform(0, 20)
        out.append(Note(s, s + rng.uniform(0.001, 3.0), rng.randint(0, 127), rng.randint(1, 127)))
    return out


# ---- the vocabulary -----------------------------------------------------------------------------------

def test_the_vocabulary_has_388_ids_in_four_ranges() -> None:
    assert VOCAB == 388
    assert EVENT_RANGES == {"on": range(0, 128), "off": range(128, 256), "shift": range(256, 356),
                            "velocity": range(356, 388)}
    assert [event_type(i) for i in (0, 127, 128, 255, 256, 355, 356, 387)] == \
        ["on", "on", "off", "off", "shift", "shift", "velocity", "velocity"]
    with pytest.raises(ValueError):
        event_type(388)


def test_labels_are_readable_and_distinct() -> None:
    assert event_label(60) == "ON C4"
    assert event_label(128 + 60) == "OFF C4"
    assert event_label(128 + 61) == "OFF C#4"
    assert event_label(0) == "ON C-1"
    assert event_label(256) == "SHIFT 10 ms"
    assert event_label(256 + 11) == "SHIFT 120 ms"
    assert event_label(355) == "SHIFT 1000 ms"
    assert event_label(356 + 20) == "VEL 82"  # bin 20 stands for velocity 20 * 4 + 2
    assert event_label(356) == "VEL 2" and event_label(387) == "VEL 126"
    labels = event_labels()
    assert len(labels) == 388 and len(set(labels)) == 388


# ---- notes <-> events ---------------------------------------------------------------------------------

def test_times_are_quantized_to_10_ms_and_long_gaps_take_several_shifts() -> None:
    ev = notes_to_events([Note(0.0, 0.123, 60, 80), Note(2.654, 2.7, 62, 80)])
    assert [event_label(i) for i in ev] == ["VEL 82", "ON C4", "SHIFT 120 ms", "OFF C4", "SHIFT 1000 ms",
                                            "SHIFT 1000 ms", "SHIFT 530 ms", "ON D4", "SHIFT 50 ms", "OFF D4"]


def test_velocity_events_only_when_the_bin_changes() -> None:
    ev = notes_to_events([Note(0, 1, 60, 80), Note(0, 1, 64, 81), Note(1, 2, 67, 83), Note(2, 3, 60, 84)])
    assert [event_label(i) for i in ev if event_type(i) == "velocity"] == ["VEL 82", "VEL 86"]


def test_note_offs_come_before_note_ons_at_one_time() -> None:
    ev = notes_to_events([Note(0, 0.5, 64, 80), Note(0, 0.5, 60, 80), Note(0.5, 1, 62, 80), Note(0.5, 1, 60, 80)])
    assert [event_label(i) for i in ev] == ["VEL 82", "ON C4", "ON E4", "SHIFT 500 ms", "OFF C4", "OFF E4",
                                            "ON C4", "ON D4", "SHIFT 500 ms", "OFF C4", "OFF D4"]


def test_a_note_lasts_at_least_one_step_and_a_restruck_note_ends_first() -> None:
    assert quantized([Note(0.0, 0.001, 60, 80)]) == [(0, 1, 60, 80)]
    assert quantized([Note(0, 1.0, 60, 80), Note(0.5, 0.7, 60, 90)]) == [(0, 50, 60, 80), (50, 70, 60, 90)]
    assert quantized([Note(0, 1.0, 60, 80), Note(0, 0.2, 60, 90)]) == [(0, 100, 60, 80)]  # one note, the longer


@pytest.mark.parametrize("seed", range(5))
def test_events_to_notes_inverts_notes_to_events_within_the_quantization(seed: int) -> None:
    notes = random_notes(seed)
    ev = notes_to_events(notes)
    assert all(0 <= i < VOCAB for i in ev)
    back = events_to_notes(ev)
    want = [(s / 100, e / 100, p, (v // 4) * 4 + 2) for s, e, p, v in quantized(notes)]
    assert [(round(n.start, 6), round(n.end, 6), n.pitch, n.velocity) for n in back] == \
        [(round(s, 6), round(e, 6), p, v) for s, e, p, v in want]
    assert notes_to_events(back) == ev  # events of notes of events: the same events


def test_any_sequence_of_ids_decodes_without_error() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        notes = events_to_notes(rng.integers(0, VOCAB, 200).tolist())
        assert all(n.end > n.start and 0 <= n.pitch < 128 and 1 <= n.velocity <= 127 for n in notes)
    assert events_to_notes([128 + 60, 60, 60, 300, 188]) == [Note(0.0, 0.45, 60, 82)]  # stray off, restrike
    assert events_to_notes([60]) == [Note(0.0, 0.01, 60, 82)]  # still sounding at the end: one step at least


# ---- MIDI in and out ----------------------------------------------------------------------------------

@pytest.mark.parametrize("midi_type", [0, 1])
def test_midi_round_trip_and_pretty_midi_reads_the_expected_notes(tmp_path: Path, midi_type: int) -> None:
    pretty_midi = pytest.importorskip("pretty_midi")
    ev = notes_to_events(random_notes(7))
    path = events_to_midi(ev, tmp_path / "a.mid", {"arstudio:seed": "1"}, midi_type=midi_type)
    assert mido.MidiFile(str(path)).type == midi_type
    assert midi_to_events(path) == ev
    pm = pretty_midi.PrettyMIDI(str(path))
    got = sorted((round(n.start, 4), round(n.end, 4), n.pitch, n.velocity) for i in pm.instruments for n in i.notes)
    want = sorted((round(n.start, 4), round(n.end, 4), n.pitch, n.velocity) for n in events_to_notes(ev))
    assert got == want
    assert not any(i.is_drum for i in pm.instruments)


def test_a_file_of_tracks_tempo_changes_drums_and_pedal(tmp_path: Path) -> None:
    """Two tracks merged, a tempo change honoured, drums dropped, the pedal holding a note."""
    tpb = 480
    conductor = [mido.MetaMessage("set_tempo", tempo=500_000, time=0),  # 120 bpm: a beat is 0.5 s
                 mido.MetaMessage("set_tempo", tempo=1_000_000, time=2 * tpb)]  # at 1 s: 60 bpm
    melody = notes_track([(0, tpb, 60, 100), (2 * tpb, 3 * tpb, 62, 50)])  # 0-0.5 s; 1-2 s (after the change)
    bass = [mido.Message("control_change", channel=1, control=64, value=127, time=0),
            *notes_track([(0, tpb // 2, 48, 70)], channel=1),  # released at 0.25 s under the pedal
            mido.Message("control_change", channel=1, control=64, value=0, time=tpb)]  # pedal up at 0.75 s
    drums = notes_track([(0, tpb, 36, 127), (tpb, 2 * tpb, 38, 127)], channel=9)
    path = midi_file(tmp_path / "t.mid", [conductor, melody, bass, drums])
    got = midi_to_notes(path)
    assert got.drum_notes == 2 and got.tracks == 4
    assert [(round(n.start, 3), round(n.end, 3), n.pitch, n.velocity) for n in got.notes] == \
        [(0.0, 0.75, 48, 70), (0.0, 0.5, 60, 100), (1.0, 2.0, 62, 50)]
    dry = midi_to_notes(path, sustain=False)
    assert (round(dry.notes[0].end, 3), dry.notes[0].pitch) == (0.25, 48)


def test_midi_to_events_to_midi_keeps_the_notes_within_10_ms(tmp_path: Path) -> None:
    pretty_midi = pytest.importorskip("pretty_midi")
    rng = random.Random(3)
    notes = []
    for i in range(80):  # one note a pitch: a MIDI file cannot say which of two overlapping notes ends first
        s = rng.randint(0, 30_000)
        notes.append((s, s + rng.randint(20, 2_000), 21 + i, rng.randint(1, 127)))
    src = midi_file(tmp_path / "src.mid", [[mido.MetaMessage("set_tempo", tempo=612_345, time=0)],
                                             notes_track(notes)], ticks_per_beat=384)
    ref = pretty_midi.PrettyMIDI(str(src))
    out = events_to_midi(midi_to_events(src), tmp_path / "out.mid")
    again = pretty_midi.PrettyMIDI(str(out))
    ref_notes = {(n.pitch, round(n.start, 2)): n for n in ref.instruments[0].notes}
    got = again.instruments[0].notes
    assert len(got) == len(ref_notes)
    for n in got:
        r = ref_notes[(n.pitch, round(n.start, 2))]
        assert abs(n.start - r.start) <= 0.005 + 1e-6
        assert abs(n.end - r.end) <= 0.005 + 1e-6
        assert abs(n.velocity - r.velocity) <= 2


def test_the_recipe_is_stored_in_the_file_and_mido_reads_it(tmp_path: Path) -> None:
    recipe = {"arstudio:seed": "3", "arstudio:checkpoint": "bach — relative", "Software": "arstudio 0.1"}
    path = events_to_midi([60, 300, 188], tmp_path / "r.mid", recipe)
    assert read_midi_recipe(path) == recipe
    metas = [m for t in mido.MidiFile(str(path)).tracks for m in t if m.type == "sequencer_specific"]
    assert len(metas) == 1 and metas[0].data[0] == 0x7D
    assert read_midi_recipe(events_to_midi([60], tmp_path / "none.mid")) == {}
    assert midi_bytes([60, 300, 188], recipe) == path.read_bytes()  # the bytes depend on events and recipe alone


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = events_to_midi([60, 300, 188], tmp_path / "keep.mid")
    before = path.read_bytes()
    with pytest.raises(ValueError):
        events_to_midi([60, 999], path)
    with pytest.raises(ExportError):
        events_to_midi([60], tmp_path / "no" / "such" / "folder.mid")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mid"]


# ---- bad input ----------------------------------------------------------------------------------------

def _one_line(e: pytest.ExceptionInfo[BaseException], path: Path) -> str:
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(path))
    return msg


def test_a_file_that_is_not_midi(tmp_path: Path) -> None:
    for name, data in (("text.mid", b"hello, this is text\n" * 10), ("empty.mid", b""),
                       ("cut.mid", midi_bytes([60, 300, 188])[:30]), ("noise.mid", b"MThd" + bytes(range(256)))):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError) as e:
            midi_to_events(path)
        assert "MIDI" in _one_line(e, path)
    with pytest.raises(ValueError) as e:
        midi_to_events(tmp_path)
    assert "folder" in str(e.value)


def test_only_drums_and_no_notes_are_said_plainly(tmp_path: Path) -> None:
    drums = midi_file(tmp_path / "drums.mid", [notes_track([(0, 480, 36, 100), (480, 960, 38, 100)], channel=9)])
    with pytest.raises(MidiError) as e:
        midi_to_events(drums)
    assert "only drum notes" in _one_line(e, drums)
    empty = midi_file(tmp_path / "empty.mid", [[mido.MetaMessage("set_tempo", tempo=500_000, time=0),
                                                mido.Message("program_change", program=3, time=960)]])
    with pytest.raises(MidiError) as e:
        midi_to_events(empty)
    assert "has no notes" in _one_line(e, empty)


def test_smpte_timing_is_refused(tmp_path: Path) -> None:
    data = bytearray(midi_bytes([60, 300, 188]))
    data[12:14] = (-25 * 256 + 40).to_bytes(2, "big", signed=True)  # 25 fps, 40 ticks a frame
    path = tmp_path / "smpte.mid"
    path.write_bytes(bytes(data))
    with pytest.raises(MidiError) as e:
        midi_to_events(path)
    assert "SMPTE" in _one_line(e, path)


def test_many_tracks_merge_onto_one_piano(tmp_path: Path) -> None:
    tracks = [notes_track([(i * 48, i * 48 + 400, 40 + i, 64)], channel=i % 16) for i in range(64)]
    path = midi_file(tmp_path / "many.mid", tracks)
    got = midi_to_notes(path)
    assert got.tracks == 64
    assert len(got.notes) == 64 - sum(1 for i in range(64) if i % 16 == 9)  # channel 10 is the drums
    assert len(midi_to_events(path)) > 64


def test_hours_of_music_give_their_first_events_quickly(tmp_path: Path) -> None:
    tpb = 500  # at 120 bpm a tick is 1 ms
    notes = [(i * 250, i * 250 + 200, 48 + (i * 7) % 36, 80) for i in range(3 * 3600 * 4)]  # 3 hours, 4 notes/s
    path = midi_file(tmp_path / "long.mid", [notes_track(notes)], ticks_per_beat=tpb)
    ev = midi_to_events(path, max_events=1024)
    assert len(ev) == 1024
    assert ev == notes_to_events([Note(s / 1000, e / 1000, p, v) for s, e, p, v in notes[:400]])[:1024]
