"""Rendering events to sound: fluidsynth with a GM soundfont (when installed) and the built-in synthesizer."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from arstudio.core.spec import Layout, ModelSpec, ValueSpace
from arstudio.io.errors import ExportError
from arstudio.modalities.music import render
from arstudio.modalities.music.events import Note, notes_to_events
from arstudio.modalities.music.midi import events_to_midi
from arstudio.modalities.music.files import write_wav_samples

RATE = 22050
EVENTS = notes_to_events([Note(0.5, 1.0, 60, 100), Note(1.5, 2.0, 67, 40)])  # two notes, silence between


def _rms(a: np.ndarray, t0: float, t1: float) -> float:
    seg = a[int(t0 * RATE):int(t1 * RATE)]
    return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))


@pytest.mark.parametrize("synth", ["builtin", "fluidsynth"])
def test_rendering_sounds_where_the_notes_are(synth: str) -> None:
    if synth == "fluidsynth" and (shutil.which("fluidsynth") is None or render.soundfont() is None):
        pytest.skip("fluidsynth or a GM soundfont is not installed (apt-get install fluidsynth timgm6mb-soundfont)")
    audio = render.render_audio(EVENTS, RATE, synth=synth)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) >= 2.0 * RATE
    assert np.abs(audio).max() == pytest.approx(render.PEAK, abs=1e-3)  # normalised: fluidsynth's output is quiet
    assert _rms(audio, 0.0, 0.45) < 0.02 * _rms(audio, 0.55, 0.95)  # silence before the first note
    assert _rms(audio, 1.55, 1.95) > 0.05 * _rms(audio, 0.55, 0.95)  # the quieter second note sounds


def test_the_builtin_synthesizer_plays_the_pitch() -> None:
    audio = render.render_audio(notes_to_events([Note(0.0, 1.0, 69, 100)]), RATE, synth="builtin")
    spectrum = np.abs(np.fft.rfft(audio[: RATE // 2]))
    assert np.fft.rfftfreq(RATE // 2, 1 / RATE)[spectrum.argmax()] == pytest.approx(440, abs=3)


def test_render_a_midi_file_and_nothing(tmp_path: Path) -> None:
    path = events_to_midi(EVENTS, tmp_path / "a.mid")
    assert len(render.render_audio(path, RATE, synth="builtin")) >= 2.0 * RATE
    silent = render.render_audio([300, 310], RATE)
    assert len(silent) == RATE and not silent.any()
    assert render.renderer().startswith(("fluidsynth (", "the built-in"))


def test_the_wav_export_and_its_failures(tmp_path: Path) -> None:
    spec = ModelSpec("music_transformer", {}, Layout("music", (64,)), ValueSpace("categorical", 388))
    x = np.full((1, 64), np.nan)
    x[0, :len(EVENTS)] = EVENTS
    out = write_wav_samples(tmp_path / "a.wav", spec, x, {}, None)
    with wave.open(str(out), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, render.RATE)
        assert w.getnframes() >= 2 * render.RATE
    with pytest.raises(ExportError, match="nothing has been generated"):
        write_wav_samples(tmp_path / "b.wav", spec, np.full((1, 64), np.nan), {}, None)
    with pytest.raises(ExportError, match="does not exist"):
        write_wav_samples(tmp_path / "no" / "c.wav", spec, x, {}, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]
