"""Play through sounddevice, and a clear message (nothing else broken) without PortAudio or an output device."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from tests.qt.test_audio_panel import audio_info, fill, record_for, tone_codes


@pytest.fixture
def panel_with_audio(qtbot):
    from arstudio.qt.modalities.audio.panel import AudioPanel

    p = AudioPanel()
    qtbot.addWidget(p)
    info = audio_info()
    p.set_model(info, 1)
    rec = record_for(info, steps=4000)
    p.begin_run(rec)
    fill(rec, tone_codes(4000), 0, 4000)
    p.show_steps(rec)
    yield p
    p.shutdown()


def fake_sounddevice(monkeypatch: pytest.MonkeyPatch, play_error: Exception | None = None) -> list:
    """A stand-in ``sounddevice`` module recording what it was asked to play (or refusing with ``play_error``)."""
    calls: list = []

    class PortAudioError(Exception):
        pass

    def play(data, rate):
        if play_error is not None:
            raise PortAudioError(str(play_error))
        calls.append((np.array(data), rate))

    mod = types.SimpleNamespace(PortAudioError=PortAudioError, play=play, stop=lambda: calls.append("stop"))
    monkeypatch.setitem(sys.modules, "sounddevice", mod)
    return calls


def test_play_sends_the_shown_sample_at_the_models_rate_and_stop_stops(panel_with_audio, monkeypatch, qtbot):
    from arstudio.modalities.audio.mulaw import mu_law_decode

    calls = fake_sounddevice(monkeypatch)
    p = panel_with_audio
    assert p.controls.play.isEnabled()
    p.controls.play.click()
    data, rate = calls[0]
    assert rate == 16000 and data.dtype == np.float32 and data.shape == (4000,)
    np.testing.assert_array_equal(data, mu_law_decode(tone_codes(4000)))
    assert p.player.playing and p.controls.play.text() == "■ Stop" and p.waveform.playhead.isVisible()
    p.controls.play.click()
    assert calls[-1] == "stop" and not p.player.playing and p.controls.play.text() == "▶ Play"
    assert not p.waveform.playhead.isVisible()
    p.controls.play.click()  # plays to the end on its own: 0.25 s
    qtbot.waitUntil(lambda: not p.player.playing, timeout=3000)
    assert p.controls.play.text() == "▶ Play"


def test_without_portaudio_play_says_so_and_the_panel_goes_on(panel_with_audio, monkeypatch):
    real_import = builtins.__import__

    def no_portaudio(name, *args, **kw):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kw)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    p = panel_with_audio
    problems = []
    p.problem_found.connect(lambda title, msg: problems.append((title, msg)))
    p.controls.play.click()
    title, msg = problems[0]
    assert title == "Cannot play sound" and "PortAudio" in msg and "libportaudio2" in msg and "\n" not in msg
    assert p.hint.text() == msg and not p.player.playing and p.controls.play.text() == "▶ Play"
    # everything else still works: more steps are drawn, the plan is still given
    rec = p.record
    rec2 = record_for(audio_info(), steps=8000, run_id=2)
    p.begin_run(rec2)
    fill(rec2, tone_codes(8000), 0, 8000)
    p.show_steps(rec2)
    assert p.decoded == 8000 and rec is not rec2


def test_without_an_output_device_play_says_so(panel_with_audio, monkeypatch):
    fake_sounddevice(monkeypatch, play_error=RuntimeError("Error querying device -1"))
    p = panel_with_audio
    problems = []
    p.problem_found.connect(lambda title, msg: problems.append(msg))
    p.controls.play.click()
    assert "no audio output device" in problems[0] and "Error querying device -1" in problems[0]
    assert not p.player.playing


PLAY_SCRIPT = textwrap.dedent("""
    import numpy as np
    from PySide6.QtWidgets import QApplication
    from arstudio.qt.modalities.audio.playback import Player, PlaybackError
    app = QApplication([])
    player = Player()
    ended = []
    player.stopped.connect(lambda: (ended.append(1), app.quit()))
    try:
        player.play(np.sin(np.arange(1600) * 0.1).astype(np.float32) * 0.3, 16000)
    except PlaybackError as e:
        print("ERROR", e)
        raise SystemExit(0)
    app.exec()
    print("PLAYED", len(ended))
""")


def run_player(home: Path) -> str:
    env = {**os.environ, "HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", PLAY_SCRIPT], env=env, capture_output=True, text=True, timeout=600,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_real_playback_through_a_null_alsa_device(tmp_path):
    """PortAudio for real, into ALSA's null device (a .asoundrc in a temporary HOME): plays and ends."""
    pytest.importorskip("sounddevice", exc_type=OSError)
    (tmp_path / ".asoundrc").write_text("pcm.!default { type null }\n")
    assert "PLAYED 1" in run_player(tmp_path)


def test_real_portaudio_without_a_device_gives_the_message(tmp_path):
    pytest.importorskip("sounddevice", exc_type=OSError)
    (tmp_path / ".asoundrc").write_text("pcm.!default { type hw card 99 }\n")  # a card that is not there
    out = run_player(tmp_path)
    assert out.startswith("ERROR cannot play sound: no audio output device") and out.count("\n") == 1
