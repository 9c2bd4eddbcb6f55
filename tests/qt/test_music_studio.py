"""The Music panel in the studio with a tiny Music Transformer: composed, analysed, continued from a MIDI file, exported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint
from arstudio.core.registry import get
from arstudio.modalities.music.events import events_to_notes, notes_to_events
from arstudio.modalities.music.midi import events_to_midi

from tests.qt.test_music_views import chorale
from tests.qt.test_tooltips import untipped


def tiny_music_checkpoint(folder: Path, length: int = 96) -> Path:
    """An untrained tiny Music Transformer (the kind's tiny config) with a context of ``length`` events."""
    kind = get("music_transformer")
    torch.manual_seed(0)
    model = kind.build({**kind.default_config, **kind.tiny_config, "length": length})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    meta = CheckpointMeta(kind="music_transformer", config=model.spec.config, data={"name": "bach-chorales"},
                          metrics={"test_nats": 400.0, "test_bits_per_dim": 5.0})
    path = save_checkpoint(folder / "music-tiny.safetensors", model, meta)
    if path.read_bytes()[:1] == b"\x80":  # a header length read as a pickle's magic by core.checkpoint: pad it
        meta.extra["pad"] = "-"
        path = save_checkpoint(path, model, meta)
    return path


@pytest.fixture(scope="module")
def music_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_music_checkpoint(tmp_path_factory.mktemp("music"))


def test_a_run_is_composed_on_the_roll_analysed_and_exported_as_midi_and_wav(studio, wait_finished, music_ckpt,
                                                                              qtbot, tmp_path):
    import mido

    from arstudio.qt.modalities.music.panel import MusicPanel

    w = studio(music_ckpt, batch=2, seed=5)
    p = w.panel
    assert isinstance(p, MusicPanel) and "MIDI" in w.export_action.text()
    assert untipped(p) == []  # every control says what it does
    p.controls.events.setValue(80)
    w.session.play()
    wait_finished(w)
    rec = w.session.record
    assert rec.batch == 1 and rec.filled == 80  # the panel's plan: one performance of 80 events
    events = rec.values[:80, 0].astype(np.int64)
    assert p.perf.count == 80
    assert p.perf.n_notes >= len(events_to_notes(events.tolist()))  # the roll also shows notes of no length
    # the inspector's distribution names the events
    assert w.dist.view is not None and w.dist.view.labels[60] == "ON C4"
    assert p.labels[int(events[-1])] in w.dist.caption.text()
    # the tabs: the whole distribution grouped by type, and the attention of the newest step
    qtbot.waitUntil(lambda: p.arcs.step == 79, timeout=20000)
    assert p.dist.values.size == 388 and abs(p.dist.masses.sum() - 1.0) < 1e-4
    assert p.arcs.weights.shape[-1] == 80
    # hovering a note shows its step everywhere
    i = p.perf.n_notes // 2
    p.roll.step_hovered.emit(int(p.perf.on_step[i]))
    assert f"step {p.perf.on_step[i]} · ON " in w.dist.caption.text()
    qtbot.waitUntil(lambda: p.arcs.step == int(p.perf.on_step[i]), timeout=20000)
    p.roll.step_hovered.emit(-1)
    # export: MIDI with the recipe, and the rendered audio
    out = w.export_to(tmp_path / "run.mid")
    assert out is not None, w.last_error
    mid = mido.MidiFile(out)
    ons = [m for t in mid.tracks for m in t if m.type == "note_on" and m.velocity > 0]
    assert len(ons) == len(events_to_notes(events.tolist()))
    wav = w.export_to(tmp_path / "run.wav")
    assert wav is not None and wav.stat().st_size > 44, w.last_error


def test_export_writes_the_shown_performance_and_a_replay_writes_it_again(studio, wait_finished, music_ckpt, qtbot,
                                                                         tmp_path, capsys):
    import mido

    from arstudio.cli import main

    w = studio(music_ckpt, batch=1, seed=6)
    p = w.panel
    p.controls.events.setValue(40)
    p.controls.samples.setValue(2)
    w.session.play()
    wait_finished(w)
    rec = w.session.record
    assert rec.batch == 2 and p.controls.shown.maximum() == 2  # counted from 1
    rows = [rec.values[: rec.filled, b].astype(np.int64).tolist() for b in range(2)]

    def notes(path: Path) -> list[tuple]:
        return [(m.type, m.note, m.velocity, m.time) for t in mido.MidiFile(path).tracks for m in t
                if m.type in ("note_on", "note_off")]

    first, second = (notes(events_to_midi(r, tmp_path / f"row{b}.mid")) for b, r in enumerate(rows))
    assert first != second  # the test can tell the performances apart
    p.controls.shown.setValue(2)  # the second performance on the roll ...
    out = w.export_to(tmp_path / "second.mid")
    assert out is not None, w.last_error
    assert notes(out) == second  # ... is the one written
    capsys.readouterr()
    assert main(["replay", str(out), "--out", str(tmp_path / "copy.mid"), "--checkpoint", str(music_ckpt),
                 "--device", "cpu"]) == 0
    assert "matches the file byte for byte" in capsys.readouterr().out
    # File > Replay export in the studio: the recorded run, the exported performance on the roll
    w.session.reset()
    p.controls.shown.setValue(1)
    assert w.replayer.open(out, extra=[music_ckpt])
    qtbot.waitUntil(lambda: w.session.state == "paused" and w.session.record is not None, timeout=20000)
    w.session.play()
    wait_finished(w)
    assert w.session.record.batch == 2 and p.sample == 1 and p.controls.shown.value() == 2
    assert w.session.record.values[: w.session.record.filled, 1].astype(np.int64).tolist() == rows[1]


def test_a_midi_file_is_continued(studio, wait_finished, music_ckpt, qtbot, tmp_path):
    w = studio(music_ckpt, batch=1, seed=2)
    p = w.panel
    primer = notes_to_events(chorale(6))
    path = events_to_midi(primer, tmp_path / "primer.mid")
    p.controls.events.setValue(30)
    p.open_file(path)
    qtbot.waitUntil(lambda: p.primer_path is not None, timeout=10000)
    plan = w.session.plan
    kept = len(plan.prefix)
    assert 0 < kept <= 96 - 30 and "primer.mid" in p.hint.text()
    w.session.play()
    wait_finished(w)
    rec = w.session.record
    assert rec.filled == kept + 30
    np.testing.assert_array_equal(rec.values[:kept, 0], primer[:kept])
    assert p.roll.given == kept and p.roll.primer.isVisible()
    # a file that is not MIDI: a message, and the primer stays as it was
    problems = []
    p.problem_found.connect(lambda title, msg: problems.append(msg))
    bad = tmp_path / "notes.mid"
    bad.write_text("not a midi file")
    p.open_file(bad)
    qtbot.waitUntil(lambda: bool(problems), timeout=10000)
    assert "not a MIDI file" in problems[0] and p.primer_path == str(path)
