"""The Music panel on synthetic runs: the roll fed from the record, the plan a primer gives, the analysis tabs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arstudio.modalities.music.events import event_labels, events_to_notes, note_on, notes_to_events

from tests.qt.test_music_views import VOCAB, chorale, fill, music_info, record_for


@pytest.fixture
def panel(qtbot):
    from arstudio.qt.modalities.music.panel import MusicPanel

    p = MusicPanel()
    qtbot.addWidget(p)
    p.resize(700, 700)
    p.show()
    yield p
    p.shutdown()


def listen(panel) -> list:
    """The run plans the panel emits, as (plan, start)."""
    plans = []
    panel.run_planned.connect(lambda plan, start: plans.append((plan, start)))
    return plans


def test_the_roll_replays_the_records_events_frame_by_frame(panel):
    info = music_info()
    panel.set_model(info, 1)
    events = np.array(notes_to_events(chorale(30)))
    rec = record_for(info, steps=len(events))
    panel.begin_run(rec)
    rng = np.random.default_rng(0)
    while rec.filled < len(events):
        fill(rec, events, rec.filled, min(len(events), rec.filled + int(rng.integers(1, 60))))
        panel.show_steps(rec)
    assert panel.perf.count == len(events)
    got = panel.perf.notes()
    expected = np.array([tuple(n) for n in events_to_notes(events.tolist())])
    np.testing.assert_allclose(got[np.lexsort((got[:, 2], got[:, 0]))], expected)
    assert panel.roll.notes.count == len(expected) and panel.controls.play.isEnabled()
    assert panel.describe_step(rec, 1).startswith("step 1 · ON ")
    assert " s" in panel.describe_step(rec, 1)
    # a model that cannot be opened for analysis: the record's kept entries, grouped, the rest unlisted
    assert not panel.analysis.ready
    assert panel.dist.values.size == 16 and "unlisted" in panel.dist.caption.text()
    assert panel.dist.caption.text().count(panel.labels[int(events[-1])]) >= 1


def test_hovering_a_note_reports_its_step_and_the_focus_marks_it(panel):
    info = music_info()
    panel.set_model(info, 1)
    events = np.array(notes_to_events(chorale(6)))
    rec = record_for(info, steps=len(events))
    panel.begin_run(rec)
    fill(rec, events, 0, len(events))
    panel.show_steps(rec)
    hovered = []
    panel.step_hovered.connect(lambda s, b: hovered.append((s, b)))
    panel.roll.step_hovered.emit(7)
    panel.roll.step_hovered.emit(-1)
    assert hovered == [(7, 0), (-1, -1)]
    panel.show_focus(7, 0)
    assert panel.roll.focus.isVisible() and panel.analysed_step() == 7
    assert "step 7" in panel.dist.caption.text()
    panel.show_focus(-1, -1)
    assert panel.analysed_step() == len(events) - 1


def test_a_primer_becomes_the_plans_prefix_cut_to_its_seconds_and_the_context(panel):
    from arstudio.modalities.music.performance import cut_at_seconds

    plans = listen(panel)
    info = music_info(length=600)
    panel.set_model(info, 1)
    plan, start = plans[-1]
    assert plan.prefix is None and plan.steps == 512 and not start
    events = np.array(notes_to_events(chorale(80)))
    panel.use_primer("/music/bach.mid", events)
    plan, _ = plans[-1]
    kept = cut_at_seconds(events, 10.0)
    np.testing.assert_array_equal(plan.prefix, kept[: 600 - 512])  # the context leaves room for 512 new events
    assert plan.steps == 600 and "cut to 88 events" in panel.hint.text()
    panel.controls.events.setValue(100)
    panel.controls.primer_seconds.setValue(4.0)
    plan, _ = plans[-1]
    np.testing.assert_array_equal(plan.prefix, cut_at_seconds(events, 4.0))
    assert plan.steps == len(plan.prefix) + 100 and "bach.mid" in panel.hint.text()
    assert panel.controls.primer.currentText() == "bach.mid"
    panel.controls.primer.setCurrentIndex(0)
    assert plans[-1][0].prefix is None
    panel.controls.samples.setValue(3)
    assert plans[-1][0].batch == 3
    # the primer's notes are drawn as given
    panel.controls.primer.setCurrentIndex(1)
    prefix = plans[-1][0].prefix
    rec = record_for(info, steps=len(prefix) + 100, prefix=prefix[None])
    panel.begin_run(rec)
    fill(rec, np.concatenate([prefix, events[len(prefix):]]), 0, len(prefix) + 50)
    panel.show_steps(rec)
    assert panel.roll.given == len(prefix) and panel.roll.primer.isVisible()
    assert sum(len(b) for b in panel.roll.notes.buckets[8:]) > 0


def test_a_file_that_gives_no_events_is_a_problem_not_a_primer(panel):
    problems = []
    panel.problem_found.connect(lambda t, m: problems.append(m))
    panel.set_model(music_info(), 1)
    panel.use_primer("/music/empty.mid", np.zeros(0, np.int64))
    assert problems and "no events" in problems[0] and panel.primer_path is None


def test_the_shown_sample_of_a_batch_is_the_one_replayed(panel):
    info = music_info()
    panel.set_model(info, 2)
    a = np.array(notes_to_events(chorale(5, seed=1)))
    rec = record_for(info, batch=2, steps=len(a))
    panel.begin_run(rec)
    fill(rec, a, 0, len(a))
    rec.values[:, 1] = note_on(30)  # sample 1: the same note struck again and again
    panel.show_steps(rec)
    assert panel.perf.n_notes > 1 and set(panel.perf.pitch[: panel.perf.n_notes]) != {30}
    panel.controls.shown.setValue(2)  # the second sample: the box counts from 1
    assert set(panel.perf.pitch[: panel.perf.n_notes].tolist()) == {30}


# ---- the analysis worker with a real (tiny, untrained) model ----------------------------------------
@pytest.fixture(scope="module")
def tiny_model():
    from arstudio.models.music_transformer import MusicTransformer, MusicTransformerConfig

    torch.manual_seed(0)
    model = MusicTransformer(MusicTransformerConfig(length=48, d_model=16, n_layers=2, n_heads=2, d_ff=32,
                                                    dropout=0.0))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def test_the_worker_gives_the_whole_distribution_and_the_attention_of_a_step(tiny_model):
    from arstudio.qt.modalities.music.analysis import MusicAnalysisWorker

    w = MusicAnalysisWorker()
    w.model = tiny_model
    events = np.array(notes_to_events(chorale(10)))[:40]
    with torch.no_grad():
        logits, _ = tiny_model(tiny_model.inputs(torch.as_tensor(events)[None]))
        probs = torch.softmax(logits[0].double(), -1).numpy()
    for step in (0, 5, 6, 30, 12, 39):  # forward, then back (a fresh cursor), then forward again
        res = w.compute("run", events, step)
        assert res.error is None and res.step == step
        np.testing.assert_allclose(res.probs, probs[step], atol=1e-5)
        if step == 0:
            assert res.attention is None
        else:
            assert res.attention.shape == (2, 2, step + 1)
            np.testing.assert_allclose(res.attention.sum(-1), 1.0, atol=1e-5)
    assert len(w.fed) == 39


def test_the_panel_shows_the_analysis_of_the_newest_step(panel, tiny_model, qtbot):
    info = music_info(length=48)
    with qtbot.waitSignal(panel.analysis.loaded, timeout=10000):  # the fake path's load fails first
        panel.set_model(info, 1)
    panel.analysis.worker.model = tiny_model
    panel.analysis.ready = True
    events = np.array(notes_to_events(chorale(10)))[:30]
    rec = record_for(info, steps=30)
    panel.begin_run(rec)
    fill(rec, events, 0, 30)
    panel.show_steps(rec)
    qtbot.waitUntil(lambda: panel.arcs.step == 29, timeout=10000)
    assert panel.dist.values.size == VOCAB and "unlisted" not in panel.dist.caption.text()
    np.testing.assert_allclose(panel.dist.masses.sum(), 1.0, atol=1e-4)
    assert panel.arcs.weights.shape == (2, 2, 30)
    assert event_labels()[int(events[29])] in panel.arcs.caption.text()
    panel.tabs.setCurrentWidget(panel.arcs)
    panel.grab()
