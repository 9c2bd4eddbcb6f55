"""`arstudio sample | replay | eval` of a music checkpoint, the Modality object, and bad MIDI input."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

from arstudio.core.formats import open_checkpoint
from arstudio.core.modality import get_modality, modality_for_suffix
from arstudio.core.replay import read_recipe, regenerate
from arstudio.modalities.music.events import event_labels, events_to_notes
from arstudio.modalities.music.midi import midi_bytes, read_midi_recipe

from .conftest import midi_file, notes_track


def _scale(path: Path, n: int) -> Path:
    """A MIDI file of n notes climbing by semitones (an octave, again and again)."""
    return midi_file(path, [notes_track([(i * 240, i * 240 + 200, 60 + i % 12, 90) for i in range(n)])])


def _one_line(rc: int, err: str) -> str:
    assert rc == 1 and "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("arstudio: error:")
    return lines[0]


def test_the_modality_plug_in() -> None:
    m = get_modality("music")
    assert (m.title, m.step_unit, m.example_unit, m.conditioning) == ("Music", "event", "window", ("primer",))
    assert m.suffixes == (".mid", ".midi", ".wav")
    assert m.format_for("x.MID").read_recipe is not None and m.format_for("x.wav").read_recipe is None
    assert m.panel == "arstudio.qt.modalities.music.panel:MusicPanel"
    assert modality_for_suffix("a.midi")[0].name == "music"


def test_loading_labels_the_events(tiny_music: Path) -> None:
    model, _ = open_checkpoint(tiny_music)
    assert model.spec.layout.modality == "music"
    assert tuple(model.spec.values.labels) == event_labels()


def test_sample_writes_a_midi_file_with_the_expected_notes(cli, tiny_music: Path, tmp_path: Path) -> None:
    pretty_midi = pytest.importorskip("pretty_midi")
    out = tmp_path / "s.mid"
    rc, stdout, err = cli("sample", tiny_music, "--out", out, "--events", "48", "--seed", "5")
    assert rc == 0, err
    assert "wrote" in stdout
    assert mido.MidiFile(str(out)).type == 1
    recipe = read_midi_recipe(out)
    assert recipe["arstudio:modality"] == "music" and recipe["arstudio:steps"] == "48"
    model, _ = open_checkpoint(tiny_music)
    x = regenerate(model, read_recipe(out))[0]
    events = [int(v) for v in x[~np.isnan(x)]]
    assert len(events) == 48
    want = sorted((round(n.start, 3), round(n.end, 3), n.pitch, n.velocity) for n in events_to_notes(events))
    pm = pretty_midi.PrettyMIDI(str(out))
    got = sorted((round(n.start, 3), round(n.end, 3), n.pitch, n.velocity) for i in pm.instruments for n in i.notes)
    assert got == want


@pytest.mark.parametrize("options", [("--events", "64", "--seed", "1"),
                                     ("--events", "30", "--seed", "2", "--temperature", "0.8", "--top-k", "20"),
                                     ("--events", "20", "--seed", "3", "--primer", "PRIMER")])
def test_replay_makes_the_midi_file_again_byte_for_byte(cli, tiny_music: Path, tmp_path: Path, options) -> None:
    primer = midi_file(tmp_path / "p.mid", [notes_track([(i * 240, i * 240 + 200, 60 + i, 90) for i in range(30)])])
    options = tuple(str(primer) if o == "PRIMER" else o for o in options)
    first, copy = tmp_path / "a.mid", tmp_path / "b.mid"
    rc, _, err = cli("sample", tiny_music, "--out", first, *options)
    assert rc == 0, err
    rc, out, err = cli("replay", first, "--out", copy, "--checkpoint", tiny_music)
    assert rc == 0, err
    assert "matches the file byte for byte" in out
    assert copy.read_bytes() == first.read_bytes()


def test_a_primer_is_continued_and_cut_to_fit(cli, tiny_music: Path, tmp_path: Path) -> None:
    primer = _scale(tmp_path / "p.mid", 40)
    out = tmp_path / "c.mid"
    rc, _, err = cli("sample", tiny_music, "--out", out, "--primer", primer, "--events", "24")
    assert rc == 0, err
    assert "the primer is cut to its first 40 events" in err
    recipe = read_recipe(out)
    assert recipe.steps is None and len(recipe.prefix[0]) == 40  # 40 kept + 24 new fill the context of 64
    rc, _, err = cli("sample", tiny_music, "--out", out, "--primer", primer, "--events", "64")
    assert "leaves no room for the primer" in _one_line(rc, err)


def test_sample_writes_rendered_wav(cli, tiny_music: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.wav"
    rc, _, err = cli("sample", tiny_music, "--out", out, "--events", "64", "--seed", "4")
    assert rc == 0, err
    assert "rendering with" in err
    with wave.open(str(out), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 44100)
        assert w.getnframes() >= 44100


@pytest.mark.parametrize("events, says", [("0", "--events must be between 1 and"),
                                          ("65", "--events must be between 1 and the model's context of 64")])
def test_bad_event_counts(cli, tiny_music: Path, tmp_path: Path, events: str, says: str) -> None:
    rc, _, err = cli("sample", tiny_music, "--out", tmp_path / "x.mid", "--events", events)
    assert says in _one_line(rc, err)
    assert not (tmp_path / "x.mid").exists()


def _bad_primers(folder: Path) -> dict[str, Path]:
    text = folder / "text.mid"
    text.write_text("MIDI? no, just text\n")
    truncated = folder / "cut.mid"
    truncated.write_bytes(midi_bytes([60, 300, 188])[:25])
    return {
        "not MIDI": text,
        "truncated": truncated,
        "drums only": midi_file(folder / "drums.mid", [notes_track([(0, 480, 36, 100)], channel=9)]),
        "no notes": midi_file(folder / "empty.mid", [[mido.MetaMessage("set_tempo", tempo=400_000, time=0)]]),
    }


@pytest.mark.parametrize("case, says", [("not MIDI", "is not a MIDI file"),
                                        ("truncated", "is not a readable MIDI file"),
                                        ("drums only", "has only drum notes"), ("no notes", "has no notes")])
def test_bad_primers_get_one_clear_line(cli, tiny_music: Path, tmp_path: Path, case: str, says: str) -> None:
    primer = _bad_primers(tmp_path)[case]
    rc, _, err = cli("sample", tiny_music, "--out", tmp_path / "x.mid", "--primer", primer)
    line = _one_line(rc, err)
    assert says in line and str(primer) in line
    rc, _, err = cli("eval", tiny_music, "--midi", primer)
    assert says in _one_line(rc, err)


def test_many_tracks_and_hours_of_music_make_sensible_primers(cli, tiny_music: Path, tmp_path: Path) -> None:
    many = midi_file(tmp_path / "many.mid", [notes_track([(i * 30, i * 30 + 400, 20 + i, 64)], channel=i % 16)
                                             for i in range(100)])
    notes = [(i * 250, i * 250 + 200, 48 + (i * 7) % 36, 80) for i in range(2 * 3600 * 4)]  # two hours
    hours = midi_file(tmp_path / "hours.mid", [notes_track(notes)], ticks_per_beat=500)
    for primer in (many, hours):
        out = tmp_path / f"{primer.stem}-out.mid"
        rc, _, err = cli("sample", tiny_music, "--out", out, "--primer", primer)
        assert rc == 0, err
        assert "the primer is cut to its first 32 events" in err  # the default: half the context is new
        assert len(read_recipe(out).prefix[0]) == 32


def test_import_file_gives_a_primer_of_at_most_the_context(tiny_music: Path, tmp_path: Path) -> None:
    model, _ = open_checkpoint(tiny_music)
    primer = _scale(tmp_path / "p.mid", 80)
    ids = get_modality("music").import_file(primer, model.spec)
    assert ids.dtype == np.int64 and ids.shape == (64,)
    with pytest.raises(ValueError, match="only drum notes"):
        get_modality("music").import_file(_bad_primers(tmp_path)["drums only"], model.spec)


def test_eval_reports_nll_per_event(cli, tiny_music: Path, tmp_path: Path) -> None:
    rc, out, err = cli("eval", tiny_music)
    assert rc == 0, err
    assert "nats/event" in out and "bits/event" in out and "scales test" in out
    rc, out, err = cli("eval", tiny_music, "--json", "--split", "valid")
    row = json.loads(out)
    assert row["split"] == "valid" and row["events"] == row["windows"] * 64
    assert row["bits_per_event"] == pytest.approx(row["nats_per_event"] / np.log(2))
    assert row["nats_per_window"] == pytest.approx(row["nats_per_event"] * 64)
    song = _scale(tmp_path / "song.mid", 50)
    rc, out, err = cli("eval", tiny_music, "--midi", song, "--json")
    assert rc == 0, err
    row = json.loads(out)
    assert row["events"] > 64 and row["windows"] == -(-row["events"] // 64) and row["nats_per_event"] > 0
