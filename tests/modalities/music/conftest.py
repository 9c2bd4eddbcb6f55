"""Fixtures of the music tests: MIDI files made with mido, a tiny Music Transformer checkpoint, the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mido
import pytest

from arstudio.cli import main

Run = Callable[..., tuple[int, str, str]]


def midi_file(path: Path, tracks: list[list[mido.Message]], ticks_per_beat: int = 480, midi_type: int = 1) -> Path:
    """Write a MIDI file of the given tracks (messages with delta times in ticks)."""
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=ticks_per_beat)
    for msgs in tracks:
        mid.tracks.append(mido.MidiTrack(msgs))
    mid.save(str(path))
    return path


def notes_track(notes: list[tuple[int, int, int, int]], channel: int = 0) -> list[mido.Message]:
    """(start_tick, end_tick, pitch, velocity) notes as one track's messages."""
    timed = sorted([(s, 1, p, v) for s, e, p, v in notes] + [(e, 0, p, 0) for s, e, p, v in notes])
    out, now = [], 0
    for t, on, p, v in timed:
        out.append(mido.Message("note_on" if on else "note_off", channel=channel, note=p, velocity=v, time=t - now))
        now = t
    return out


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run ``main(argv)`` and return (exit status, stdout, stderr), with an empty user models folder."""
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(tmp_path / "user-models"))

    def run(*argv: object) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture(scope="session")
def tiny_music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Music Transformer (relative attention) trained for 4 steps on ``scales`` through the CLI."""
    path = tmp_path_factory.mktemp("music") / "tiny.safetensors"
    rc = main(["train", "music_transformer", "--data", "scales", "--steps", "4", "--batch-size", "4",
               "--config", "d_model=16", "--config", "n_layers=2", "--config", "n_heads=2", "--config", "d_ff=32",
               "--config", "dropout=0.0", "--out", str(path)])
    assert rc == 0
    return path
