"""Play renders the shown performance and plays it through sounddevice; without PortAudio or a device, one clear line."""

from __future__ import annotations

import builtins
import sys
import types

import numpy as np
import pytest

from arstudio.modalities.music.events import note_on, notes_to_events, time_shift

from tests.qt.test_music_views import chorale, fill, music_info, record_for


@pytest.fixture
def panel_with_music(qtbot, monkeypatch):
    from arstudio.qt.modalities.music import playback
    from arstudio.qt.modalities.music.panel import MusicPanel

    monkeypatch.setattr(playback, "RATE", 8000)
    p = MusicPanel()
    qtbot.addWidget(p)
    p.show()
    info = music_info()
    p.set_model(info, 1)
    events = np.array(notes_to_events(chorale(3)))
    rec = record_for(info, steps=len(events))
    p.begin_run(rec)
    fill(rec, events, 0, len(events))
    p.show_steps(rec)
    yield p
    p.shutdown()


def fake_sounddevice(monkeypatch: pytest.MonkeyPatch, play_error: Exception | None = None) -> list:
    """A stand-in ``sounddevice`` recording what it was asked to play (or refusing with ``play_error``)."""
    calls: list = []

    class PortAudioError(Exception):
        pass

    def play(data, rate):
        if play_error is not None:
            raise PortAudioError(str(play_error))
        calls.append((np.array(data), rate))

    monkeypatch.setitem(sys.modules, "sounddevice",
                        types.SimpleNamespace(PortAudioError=PortAudioError, play=play, stop=lambda: calls.append("stop")))
    return calls


def test_play_renders_the_events_and_the_playhead_moves_until_stop(panel_with_music, monkeypatch, qtbot):
    from arstudio.modalities.music.render import render_audio

    calls = fake_sounddevice(monkeypatch)
    p = panel_with_music
    p.controls.play.click()
    qtbot.waitUntil(lambda: bool(calls), timeout=20000)
    data, rate = calls[0]
    assert rate == 8000 and data.dtype == np.float32
    np.testing.assert_allclose(data, render_audio(p.events().tolist(), 8000), atol=1e-6)
    assert p.player.playing and p.controls.play.text() == "■ Stop"
    qtbot.waitUntil(lambda: p.roll.playhead.isVisible() and p.roll.playhead.value() > 0, timeout=3000)
    assert "Playing" in p.hint.text()
    p.controls.play.click()
    assert calls[-1] == "stop" and not p.player.playing and not p.roll.playhead.isVisible()


@pytest.mark.parametrize("broken", ["no PortAudio", "no device"])
def test_without_sound_play_says_so_and_the_panel_goes_on(panel_with_music, monkeypatch, qtbot, broken):
    problems = []
    p = panel_with_music
    p.problem_found.connect(lambda title, msg: problems.append((title, msg)))
    if broken == "no PortAudio":
        real_import = builtins.__import__

        def no_portaudio(name, *args, **kw):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")
            return real_import(name, *args, **kw)

        monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
        monkeypatch.setattr(builtins, "__import__", no_portaudio)
    else:
        fake_sounddevice(monkeypatch, play_error=RuntimeError("Error querying device -1"))
    p.controls.play.click()
    qtbot.waitUntil(lambda: bool(problems), timeout=20000)
    title, msg = problems[0]
    assert title == "Cannot play sound" and "export MIDI or WAV still works" in msg
    assert ("PortAudio" in msg) if broken == "no PortAudio" else ("no audio output device" in msg)
    assert not p.player.playing and p.controls.play.isEnabled() and msg in p.hint.text()


def test_events_without_a_note_say_there_is_nothing_to_hear(qtbot):
    from arstudio.qt.modalities.music.playback import render

    with pytest.raises(ValueError, match="no note"):
        render(np.array([time_shift(50), time_shift(20)]))
    with pytest.raises(ValueError, match="nothing to play"):
        render(np.zeros(0, np.int64))
    assert render(np.array([note_on(60), time_shift(30)]), 8000).audio.size > 0
