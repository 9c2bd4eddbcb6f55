"""The Audio panel in the studio with a tiny WaveNet: a run drawn, conditioned, exported, replayed, flat in memory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint
from arstudio.core.registry import get

ROOT = Path(__file__).resolve().parents[2]


def tiny_wavenet_checkpoint(folder: Path, seconds: float = 1.0, **config) -> Path:
    """An untrained tiny WaveNet (the kind's tiny config) writing up to ``seconds`` of 16 kHz audio."""
    kind = get("wavenet")
    base = {**kind.tiny_config, "voices": ["a", "b", "c"], **config, "length": int(seconds * 16000)}
    torch.manual_seed(0)
    model = kind.build(base)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    meta = CheckpointMeta(kind="wavenet", config=model.spec.config, data={"name": "tones16k"},
                          metrics={"test_nats": 4000.0, "test_bits_per_dim": 5.0})
    path = save_checkpoint(folder / "wavenet-tiny.safetensors", model, meta)
    if path.read_bytes()[:1] == b"\x80":  # a header length read as a pickle's magic by core.checkpoint: pad it
        meta.extra["pad"] = "-"
        path = save_checkpoint(path, model, meta)
    return path


@pytest.fixture(scope="module")
def wavenet_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from arstudio.core.formats import open_checkpoint

    path = tiny_wavenet_checkpoint(tmp_path_factory.mktemp("wavenet"))
    open_checkpoint(path)  # it opens; and torch's lazy imports of a first load are not timed by the studio's wait
    return path


def replay(wav: Path, ckpt: Path, out: Path) -> str:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([sys.executable, "-m", "arstudio", "replay", str(wav), "--out", str(out), "--checkpoint",
                          str(ckpt), "--device", "cpu"], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_a_run_is_drawn_exported_as_wav_and_replayed_byte_for_byte(studio, wait_finished, wavenet_ckpt, qtbot,
                                                                   tmp_path):
    import soundfile as sf

    from arstudio.modalities.audio.mulaw import level_labels, mu_law_decode
    from arstudio.qt.modalities.audio.panel import AudioPanel

    w = studio(wavenet_ckpt, batch=4, seed=3)
    p = w.panel
    assert isinstance(p, AudioPanel) and w.dist.by_value and "WAV" in w.export_action.text()
    assert w.session.model.spec.values.labels == level_labels()  # the modality labels the levels by amplitude
    p.controls.length.setValue(0.25)
    p.controls.voice.setCurrentIndex(2)  # voice "b"
    w.session.play()
    wait_finished(w)
    rec = w.session.record
    assert rec.batch == 1 and rec.filled == 4000  # the panel's plan: one sample, a quarter second
    np.testing.assert_array_equal(rec.info.request.cond, [[1.0]])
    assert p.decoded == 4000 and p.waveform.count == 4000
    np.testing.assert_array_equal(p.audio[:4000], mu_law_decode(rec.values[:4000, 0].astype(np.int64)))
    assert p.mel.count == 4000 // 8  # the tiny model's hop: all frames, the last ones once the run ended
    # the distribution view: levels at their place, any of the 256 clickable
    assert len(w.dist._shown) == 256 and set(np.asarray(w.dist.bars.opts["x"])) <= set(range(256))
    p.waveform.step_hovered.emit(100)
    assert "step 100 · 0.0063 s · sample 1" in w.dist.caption.text()
    out = w.export_to(tmp_path / "run.wav")
    assert out is not None, w.last_error
    info = sf.info(out)
    assert (info.samplerate, info.frames, info.channels, info.subtype) == (16000, 4000, 1, "PCM_16")
    if shutil.which("soxi"):
        got = [subprocess.run(["soxi", flag, str(out)], capture_output=True, text=True).stdout.strip()
               for flag in ("-r", "-s", "-e", "-b")]
        assert got == ["16000", "4000", "Signed Integer PCM", "16"]
    said = replay(out, wavenet_ckpt, tmp_path / "copy.wav")
    assert "matches the file byte for byte" in said
    assert (tmp_path / "copy.wav").read_bytes() == out.read_bytes()


def test_export_writes_the_shown_sample_and_a_replay_writes_it_again(studio, wait_finished, wavenet_ckpt, qtbot,
                                                                     tmp_path):
    import soundfile as sf

    from arstudio.modalities.audio.mulaw import mu_law_decode

    w = studio(wavenet_ckpt, batch=1, seed=4)
    p = w.panel
    p.controls.length.setValue(0.1)
    p.controls.samples.setValue(3)
    w.session.play()
    wait_finished(w)
    rec = w.session.record
    assert rec.batch == 3 and p.controls.shown.maximum() == 3  # counted from 1
    rows = rec.values[: rec.filled].T.astype(np.int64)  # [3, steps] mu-law codes
    assert not np.array_equal(rows[1], rows[0])  # the test can tell the samples apart
    p.controls.shown.setValue(2)  # the second sample on screen ...
    out = w.export_to(tmp_path / "second.wav")
    assert out is not None, w.last_error
    pcm, _ = sf.read(out, dtype="float64")
    np.testing.assert_allclose(pcm, mu_law_decode(rows[1]), atol=2 / 32768)  # ... is the one written
    assert not np.allclose(pcm, mu_law_decode(rows[0]), atol=2 / 32768)
    assert "matches the file byte for byte" in replay(out, wavenet_ckpt, tmp_path / "copy.wav")
    # File > Replay export in the studio: the recorded run (three samples, whatever the controls say now),
    # with the exported sample on screen
    w.session.reset()
    p.controls.samples.setValue(1)
    p.controls.shown.setValue(1)
    assert w.replayer.open(out, extra=[wavenet_ckpt])
    qtbot.waitUntil(lambda: w.session.state == "paused" and w.session.record is not None, timeout=20000)
    w.session.play()
    wait_finished(w)
    rec = w.session.record
    assert rec.batch == 3 and p.sample == 1 and p.controls.shown.value() == 2
    np.testing.assert_array_equal(rec.values[: rec.filled].T, rows)


def test_a_mel_conditioned_continuation_replays_byte_for_byte(studio, wait_finished, wavenet_ckpt, qtbot, tmp_path):
    import soundfile as sf

    from arstudio.modalities.audio.condition import unpack_condition

    rate = 16000
    t = np.arange(int(0.3 * rate)) / rate
    sf.write(tmp_path / "speech.wav", 0.5 * np.sin(2 * np.pi * 200 * t) * np.sin(2 * np.pi * 3 * t), rate)
    w = studio(wavenet_ckpt, batch=1, seed=5)
    p = w.panel
    p.open_file(tmp_path / "speech.wav", "condition")
    qtbot.waitUntil(lambda: p.cond_clip is not None, timeout=10000)
    p.open_file(tmp_path / "speech.wav", "primer")
    qtbot.waitUntil(lambda: p.primer_clip is not None, timeout=10000)
    p.controls.primer_seconds.setValue(0.1)
    assert p.controls.length.value() == 0.3  # the conditioning file's length, the primer included
    w.session.play()
    wait_finished(w)
    rec = w.session.record
    assert rec.filled == int(0.3 * rate) and rec.info.request.prefix_len == int(0.1 * rate)
    voice, mel = unpack_condition(rec.info.request.cond[0], 8)
    assert voice is None and mel.shape == (8, int(0.3 * rate) // 8)
    out = w.export_to(tmp_path / "vocoded.wav")
    assert out is not None, w.last_error
    assert "matches the file byte for byte" in replay(out, wavenet_ckpt, tmp_path / "copy.wav")


def test_many_steps_of_a_wavenet_leave_the_panel_with_its_arrays_only(studio, wait_finished, wavenet_ckpt):
    """A second of audio (16,000 steps) in the studio: the panel fills the buffers it allocated for the model."""
    w = studio(wavenet_ckpt, batch=1, seed=1)
    p = w.panel
    audio, frames = p.audio, p.mel.frames
    p.controls.length.setValue(1.0)
    w.session.play()
    wait_finished(w, timeout=120000)
    assert w.session.record.filled == 16000 and p.decoded == 16000
    assert p.audio is audio and p.mel.frames is frames  # filled in place, never grown
    for owner in (p, p.waveform, p.spectrogram, p.mel, p.controls):
        for name, value in vars(owner).items():
            where = f"{type(owner).__name__}.{name}"
            assert not (isinstance(value, (list, dict, tuple, set)) and len(value) > 64), where
            if isinstance(value, np.ndarray):
                assert value.dtype != object, where


def test_an_exported_wav_replays_step_by_step_in_the_studio(studio, wait_finished, wavenet_ckpt, qtbot, tmp_path):
    w = studio(wavenet_ckpt, batch=1, seed=7)
    p = w.panel
    p.controls.length.setValue(0.05)
    p.controls.voice.setCurrentIndex(1)
    w.session.play()
    wait_finished(w)
    first = w.session.record.values[: w.session.record.filled, 0].copy()
    out = w.export_to(tmp_path / "short.wav")
    assert out is not None, w.last_error
    w.session.reset()
    assert w.replayer.open(out, extra=[wavenet_ckpt])
    qtbot.waitUntil(lambda: w.session.state == "paused" and w.session.record is not None, timeout=20000)
    w.session.play()
    wait_finished(w)
    rec = w.session.record
    np.testing.assert_array_equal(rec.values[: rec.filled, 0], first)
    np.testing.assert_array_equal(rec.info.request.cond, [[0.0]])
    assert p.decoded == len(first) == 800
