"""The Audio panel on synthetic runs: a scrolling waveform, a live spectrogram, the condition and the plan it gives.

The helpers here (a model's info without weights, a record filled with a known signal) are used by
the other ``test_audio_*`` files too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


from arstudio.core.checkpoint import CheckpointMeta
from arstudio.core.spec import Layout, ModelSpec, ValueSpace
from arstudio.engine.messages import ModelInfo, RunInfo, RunRequest, StepBatch, StepDists, top_entries
from arstudio.engine.record import RunRecord
from arstudio.modalities.audio.mulaw import level_labels, mu_law_encode

RATE = 16000


def audio_info(seconds: float = 10.0, voices: tuple[str, ...] = ("en-us", "en-gb"), n_mels: int = 80,
               path: str = "/tmp/fake-wavenet.safetensors") -> ModelInfo:
    """What the studio knows of a 256-level mu-law model of ``seconds`` at 16 kHz (no weights)."""
    config = {"sample_rate": RATE, "length": int(seconds * RATE), "levels": 256, "voices": list(voices),
              "n_mels": n_mels, "hop_length": 256, "n_fft": 1024, "f_min": 0.0, "f_max": 8000.0}
    cond = {"voices": len(voices), "n_mels": n_mels, "hop_length": 256} if (voices or n_mels) else {}
    spec = ModelSpec("wavenet", config, Layout("audio", (config["length"],)),
                     ValueSpace("categorical", 256, labels=level_labels()), cond)
    meta = CheckpointMeta(kind="wavenet", config=config)
    return ModelInfo(Path(path), "fake-wavenet", spec, meta, 1, "cpu", 1000)


def tone(n: int, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    """``n`` samples of a sine at ``freq`` Hz."""
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / RATE)).astype(np.float32)


def record_for(info: ModelInfo, batch: int = 1, steps: int | None = None, prefix: np.ndarray | None = None,
               run_id: int = 1) -> RunRecord:
    """An empty record of a run of ``info``'s model (``steps`` planned, ``prefix`` [B, t0] kept)."""
    length = info.spec.layout.length
    req = RunRequest(run_id, batch, prefix=prefix, steps=steps)
    return RunRecord(RunInfo(run_id, batch, length, (length,), np.arange(length), req))


def fill(record: RunRecord, codes: np.ndarray, start: int, stop: int) -> StepBatch:
    """Add steps start..stop-1 whose values are ``codes[start:stop]`` (every sample the same), with peaked dists."""
    n, b = stop - start, record.batch
    values = np.repeat(codes[start:stop, None], b, 1).astype(np.float64)
    probs = np.full((n * b, 256), 1e-4)
    rows = np.arange(n * b)
    flat = values.reshape(-1).astype(int)
    for d, p in ((0, 0.5), (-1, 0.2), (1, 0.2)):
        probs[rows, np.clip(flat + d, 0, 255)] += p
    probs /= probs.sum(1, keepdims=True)
    top, p, rest = top_entries(probs)
    dists = StepDists("bars", np.arange(256), level_labels(), p.reshape(n, b, -1).astype(np.float32),
                      np.full((n, b), 1.0, np.float32), top.reshape(n, b, -1).astype(np.uint16),
                      rest.reshape(n, b).astype(np.float32))
    lp = np.log(probs[rows, flat]).reshape(n, b)
    batch = StepBatch(record.run_id, np.arange(start, stop), np.arange(start, stop), values, lp,
                      np.zeros(n, bool), dists)
    record.add(batch)
    return batch


def tone_codes(n: int, freq: float = 440.0) -> np.ndarray:
    """The mu-law codes of ``tone(n, freq)``."""
    return mu_law_encode(tone(n, freq))


# ---- the panel ----------------------------------------------------------------------------------
@pytest.fixture
def panel(qtbot):
    from arstudio.qt.modalities.audio.panel import AudioPanel

    p = AudioPanel()
    qtbot.addWidget(p)
    p.resize(640, 620)
    p.show()
    yield p
    p.shutdown()


def listen(panel) -> tuple[list, list]:
    """What the panel tells the session: the conditions and the run plans it emits."""
    conds, plans = [], []
    panel.condition_chosen.connect(conds.append)
    panel.run_planned.connect(lambda plan, start: plans.append((plan, start)))
    return conds, plans


def test_the_waveform_scrolls_with_the_newest_sample_until_dragged_back(panel):
    from arstudio.modalities.audio.mulaw import mu_law_decode

    info = audio_info()
    panel.set_model(info, 1)
    rec = record_for(info, steps=5 * RATE)
    panel.begin_run(rec)
    codes = tone_codes(5 * RATE)
    for stop in (RATE, 2 * RATE + 123, 4 * RATE):
        fill(rec, codes, rec.filled, stop)
        panel.show_steps(rec)
    wave = panel.waveform
    assert len(wave.curve.xData) == 4 * RATE and np.isclose(wave.curve.xData[-1], (4 * RATE - 1) / RATE)
    np.testing.assert_array_equal(wave.curve.yData, mu_law_decode(codes[: 4 * RATE]))
    assert np.abs(wave.curve.yData - tone(4 * RATE)).max() < 0.02  # mu-law's quantization, no more
    assert np.allclose(wave.visible_range(), (1.0, 4.0))  # the last three seconds
    assert wave.cursor.isVisible() and np.isclose(wave.cursor.value(), 4.0)
    assert "4.00 s of 5.00 s" in wave.position.text()
    # a drag stops following: later samples leave the view where the person put it
    wave.vb.sigRangeChangedManually.emit([True, False])
    wave.plot.setXRange(0.2, 0.7, padding=0)
    fill(rec, codes, rec.filled, 5 * RATE)
    panel.show_steps(rec)
    assert not wave.following and np.allclose(wave.visible_range(), (0.2, 0.7))
    wave.follow_button.click()
    assert wave.following and np.allclose(wave.visible_range(), (2.0, 5.0))
    panel.spectrogram.plot.getViewBox().sigRangeChangedManually.emit([True, False])  # the linked plot, dragged
    assert not wave.following
    # draws through pyqtgraph's clipping and peak downsampling, not every point of a long run
    assert wave.curve.opts["clipToView"] and wave.curve.opts["autoDownsample"]


def test_the_spectrogram_fills_in_frame_by_frame_and_ends_as_the_models_log_mel(panel, monkeypatch):
    import torch

    from arstudio.modalities.audio.mel import log_mel

    info = audio_info()
    panel.set_model(info, 1)
    n = RATE + 700
    rec = record_for(info, steps=n)
    panel.begin_run(rec)
    codes = np.clip(tone_codes(n, 300.0) + np.random.default_rng(1).integers(-2, 3, n), 0, 255)
    computed = []
    real_rfft = np.fft.rfft
    monkeypatch.setattr(np.fft, "rfft", lambda a, *args, **kw: computed.append(len(a)) or real_rfft(a, *args, **kw))
    counts = []
    rng = np.random.default_rng(0)
    while rec.filled < n:
        fill(rec, codes, rec.filled, min(n, rec.filled + int(rng.integers(50, 900))))
        panel.show_steps(rec)
        counts.append(panel.mel.count)
    assert counts == sorted(counts) and counts[0] < counts[-1]
    frames = panel.mel.count
    assert frames == -(-n // 256) and sum(computed) == frames  # each frame computed once, none again
    ref = log_mel(torch.from_numpy(panel.audio[:n].copy()), panel.settings).numpy().T  # (F, n_mels)
    np.testing.assert_allclose(panel.mel.frames[:frames], ref, atol=1e-3)
    shown = panel.spectrogram.image.image
    assert shown.shape == (frames, 80)
    # the tone's band is the brightest
    band = int(np.argmax(shown[frames // 2]))
    assert abs(panel.mel.band_hz()[band] - 300.0) < 60.0


def test_voice_and_conditioning_file_are_packed_into_one_condition_row(panel):
    from arstudio.modalities.audio.condition import recipe_condition, unpack_condition
    from arstudio.qt.modalities.audio.panel import Clip

    conds, plans = listen(panel)
    info = audio_info(voices=("alice", "bob"))
    panel.set_model(info, 1)
    assert conds[-1] is None  # no voice, no mel: unconditional
    c = panel.controls
    assert [c.voice.itemText(i) for i in range(c.voice.count())] == ["none", "alice", "bob"]
    c.voice.setCurrentIndex(2)
    np.testing.assert_array_equal(conds[-1].values, [[1.0]])
    mel = np.random.default_rng(0).normal(size=(80, 94)).astype(np.float32)
    panel._on_clip(1, Clip("/x/utterance.wav", np.zeros(24000, np.float32), mel, 1.5))
    row = conds[-1].values
    assert row.shape == (1, 1 + 80 * 94)
    np.testing.assert_array_equal(row, recipe_condition(1, mel))  # as `arstudio sample --condition` packs it
    voice, got = unpack_condition(row[0], 80)
    assert voice == 1 and np.abs(got - mel).max() <= 0.0005 + 1e-6  # rounded as the replay recipe keeps it
    assert c.condition.currentText() == "mel of utterance.wav" and panel.spectrogram.target_plot.isVisibleTo(panel)
    assert plans[-1][0].steps == 24000  # the length follows the file: resynthesize all of it
    c.condition.setCurrentIndex(0)  # back to babbling, same voice
    np.testing.assert_array_equal(conds[-1].values, [[1.0]])
    assert not panel.spectrogram.target_plot.isVisibleTo(panel)
    c.voice.setCurrentIndex(0)
    assert conds[-1] is None


def test_a_model_without_voices_or_mel_disables_those_controls(panel):
    conds, _ = listen(panel)
    panel.set_model(audio_info(voices=(), n_mels=0, path="/tmp/plain.safetensors"), 1)
    c = panel.controls
    assert not c.voice.isEnabled() and not c.condition.isEnabled() and not c.condition_open.isEnabled()
    assert conds == [None]


def test_the_plan_keeps_the_primer_and_asks_for_the_length(panel):
    from arstudio.modalities.audio.mulaw import mu_law_encode
    from arstudio.qt.modalities.audio.panel import Clip

    conds, plans = listen(panel)
    panel.set_model(audio_info(), 1)
    plan, start = plans[-1]
    assert not start and plan.prefix is None and plan.steps == 2 * RATE and plan.batch == 1
    c = panel.controls
    c.length.setValue(1.5)
    c.samples.setValue(3)
    assert plans[-1][0].steps == 24000 and plans[-1][0].batch == 3
    audio = tone(RATE, 220.0)
    panel._on_clip(2, Clip("/x/primer.flac", audio, None, 1.0))
    c.primer_seconds.setValue(0.25)
    plan = plans[-1][0]
    np.testing.assert_array_equal(plan.prefix, mu_law_encode(audio[:4000]))
    assert plan.steps == 24000  # the length is the whole run's, the primer included
    assert c.primer_seconds.maximum() == 1.0  # no more of the file than there is
    c.length.setValue(0.1)
    assert plans[-1][0].steps == 4001  # never shorter than the primer and one new sample
    c.length.setValue(1.5)
    c.primer.setCurrentIndex(0)
    assert plans[-1][0].prefix is None and plans[-1][0].steps == 24000
    c.length.setValue(10.0)
    assert plans[-1][0].steps == 10 * RATE  # never past the model's layout


def test_a_primer_is_shaded_and_the_shown_sample_can_change(panel):
    info = audio_info()
    panel.set_model(info, 2)
    prefix = np.repeat(tone_codes(4000)[None], 2, 0)
    rec = record_for(info, batch=2, steps=8000, prefix=prefix)
    panel.begin_run(rec)
    codes = tone_codes(8000)
    fill(rec, codes, 0, 8000)
    rec.values[4000:, 1] = 128  # sample 1 goes silent after the primer
    panel.show_steps(rec)
    assert panel.waveform.primer.isVisible() and np.allclose(panel.waveform.primer.getRegion(), (0.0, 0.25))
    assert panel.controls.shown.isEnabled() and panel.controls.shown.maximum() == 2  # counted from 1
    panel.controls.shown.setValue(2)
    assert panel.sample == 1 and np.abs(panel.audio[4000:8000]).max() < 0.01
    hovered = []
    panel.step_hovered.connect(lambda s, b: hovered.append((s, b)))
    panel.waveform.step_hovered.emit(5000)
    panel.waveform.step_hovered.emit(5000)  # the same place again: nothing new to say
    panel.waveform.step_hovered.emit(-1)
    assert hovered == [(5000, 1), (-1, -1)]


def test_focus_and_step_descriptions(panel):
    info = audio_info()
    panel.set_model(info, 1)
    rec = record_for(info, steps=1000)
    panel.begin_run(rec)
    fill(rec, np.full(1000, 200), 0, 1000)
    panel.show_steps(rec)
    panel.show_focus(800, 0)
    assert panel.waveform.focus.isVisible() and np.isclose(panel.waveform.focus.value(), 0.05)
    panel.show_focus(-1, -1)
    assert not panel.waveform.focus.isVisible()
    assert panel.describe_step(rec, 800) == "step 800 · 0.0500 s"


def test_a_long_run_keeps_arrays_not_objects_per_step(panel):
    """160,000 steps (10 s) through the panel: its memory stays what it allocated for the model."""
    import tracemalloc

    info = audio_info()
    panel.set_model(info, 1)
    rec = record_for(info, steps=10 * RATE)
    panel.begin_run(rec)
    codes = tone_codes(10 * RATE)
    fill(rec, codes, 0, 2000)
    panel.show_steps(rec)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for a in range(2000, 10 * RATE, 4000):  # the presenter draws at most ~60 batches a second
            fill(rec, codes, a, min(10 * RATE, a + 4000))
            panel.show_steps(rec)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(d.size_diff for d in after.compare_to(before, "filename"))
    assert grown < 2_000_000, f"the panel grew by {grown:,} bytes over a 10 s run"
    assert panel.decoded == 10 * RATE and panel.mel.count == 625
    for owner in (panel, panel.waveform, panel.spectrogram, panel.mel):
        for name, value in vars(owner).items():
            assert not (isinstance(value, (list, dict, tuple)) and len(value) > 64), f"{type(owner).__name__}.{name}"


def test_files_are_read_in_the_background_converted_or_refused_in_one_line(panel, qtbot, tmp_path):
    import soundfile as sf

    from arstudio.modalities.audio.files import read_audio
    from arstudio.modalities.audio.mulaw import mu_law_encode

    conds, plans = listen(panel)
    panel.set_model(audio_info(seconds=2.0), 1)
    t = np.arange(int(1.5 * 22050)) / 22050
    stereo = np.stack([0.4 * np.sin(2 * np.pi * 330 * t), 0.2 * np.sin(2 * np.pi * 660 * t)], 1)
    wav = tmp_path / "stereo24.wav"
    sf.write(wav, stereo, 22050, subtype="PCM_24")
    panel.open_file(wav, "primer")
    qtbot.waitUntil(lambda: panel.primer_clip is not None or "Error" in panel.hint.text(), timeout=10000)
    assert panel.primer_clip is not None, panel.hint.text()
    want = read_audio(wav, RATE, max_seconds=2.0)
    assert len(panel.primer_clip.audio) == len(want) == 24000  # mixed down, resampled to the model's rate
    panel.controls.primer_seconds.setValue(0.5)
    np.testing.assert_array_equal(plans[-1][0].prefix, mu_law_encode(want[:8000]))
    long = tmp_path / "long.flac"
    sf.write(long, np.zeros(5 * RATE), RATE)
    panel.open_file(long, "condition")
    qtbot.waitUntil(lambda: panel.cond_clip is not None, timeout=10000)
    assert panel.cond_clip.cut and panel.cond_clip.mel.shape == (80, 125)  # ceil(T / hop) frames
    assert "first 2 s" in panel.hint.text() and conds[-1].values.shape == (1, 1 + 80 * 125)
    problems = []
    panel.problem_found.connect(lambda title, msg: problems.append(msg))
    junk = tmp_path / "notes.wav"
    junk.write_text("not a sound at all")
    panel.open_file(junk, "condition")
    qtbot.waitUntil(lambda: bool(problems), timeout=10000)
    assert "\n" not in problems[0] and "notes.wav" in problems[0]
    assert panel.cond_clip is not None and panel.controls.condition.currentIndex() == 1  # the earlier file stays


def test_the_run_is_described_from_its_request(panel):
    from dataclasses import replace

    from arstudio.modalities.audio.condition import pack_condition

    info = audio_info(voices=("alice", "bob"))
    panel.set_model(info, 1)
    rec = record_for(info, steps=RATE + 8000, prefix=np.zeros((1, 8000)))  # 1.5 s
    req = replace(rec.info.request, cond=pack_condition(1, np.zeros((80, 94)))[None])
    rec.info = replace(rec.info, request=req)
    panel.begin_run(rec)
    assert panel.hint.text() == ("Writing 1.50 s · the first 0.50 s kept from the primer (shaded) · voice bob · "
                                 "following a mel of 94 frames.")
    panel.begin_run(record_for(info, steps=RATE, run_id=2))
    assert panel.hint.text() == "Writing 1.00 s · voice none · no mel (babbling)."


def test_another_model_keeps_the_files_it_can_use(panel):
    from arstudio.qt.modalities.audio.panel import Clip

    conds, plans = listen(panel)
    panel.set_model(audio_info(path="/tmp/a.safetensors"), 1)
    mel = np.zeros((80, 10), np.float32)
    panel._on_clip(1, Clip("/x/c.wav", np.zeros(2560, np.float32), mel, 0.16))
    panel._on_clip(2, Clip("/x/p.wav", np.zeros(8000, np.float32), None, 0.5))
    panel.set_model(audio_info(path="/tmp/a.safetensors"), 1)  # a reset: everything stays
    assert panel.spectrogram.target_plot.isVisibleTo(panel) and conds[-1].values.shape == (1, 801)
    panel.set_model(audio_info(path="/tmp/b.safetensors"), 1)  # the same settings: the files still fit
    assert panel.cond_clip is not None and panel.primer_clip is not None and conds[-1].values.shape == (1, 801)
    panel.set_model(audio_info(path="/tmp/c.safetensors", n_mels=0), 1)  # takes no mel: that file is dropped
    assert panel.cond_clip is None and panel.controls.condition.currentIndex() == 0 and conds[-1] is None
    assert not panel.spectrogram.target_plot.isVisibleTo(panel)
    assert panel.primer_clip is not None and plans[-1][0].prefix is not None and len(plans[-1][0].prefix) == 8000
