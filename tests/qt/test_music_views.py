"""The Music panel's parts on synthetic events: the replay into notes, the piano roll, the grouped distribution, the arcs.

The helpers here (a performance of known notes, a model's info without weights, a record filled
with events) are used by the other ``test_music_*`` files too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arstudio.core.checkpoint import CheckpointMeta
from arstudio.core.spec import Layout, ModelSpec, ValueSpace
from arstudio.engine.messages import ModelInfo, RunInfo, RunRequest, StepBatch, StepDists, top_entries
from arstudio.engine.record import RunRecord
from arstudio.modalities.music.events import (Note, event_label, event_labels, events_to_notes, note_off, note_on,
                                              notes_to_events, time_shift, velocity_event)

VOCAB = 388


def chorale(n_chords: int = 40, seed: int = 0) -> list[Note]:
    """Four voices moving in half-second chords, with some louder bars: a known performance."""
    rng = np.random.default_rng(seed)
    notes, t = [], 0.0
    voices = np.array([72, 67, 60, 48])
    for i in range(n_chords):
        voices = np.clip(voices + rng.integers(-2, 3, 4), 36, 84)
        dur = 0.5 if i % 4 else 1.0
        vel = 100 if (i // 8) % 2 else 60
        notes += [Note(t, t + dur, int(p), vel) for p in voices]
        t += dur
    return notes


def music_info(length: int = 1024, path: str = "/tmp/fake-music.safetensors") -> ModelInfo:
    """What the studio knows of a 388-event model with a context of ``length`` (no weights)."""
    config = {"vocab": VOCAB, "length": length, "d_model": 16, "n_layers": 2, "n_heads": 2, "d_ff": 32,
              "dropout": 0.0, "attention": "relative"}
    spec = ModelSpec("music_transformer", config, Layout("music", (length,)),
                     ValueSpace("categorical", VOCAB, labels=event_labels()))
    return ModelInfo(Path(path), "fake-music", spec, CheckpointMeta(kind="music_transformer", config=config),
                     1, "cpu", 1000)


def record_for(info: ModelInfo, batch: int = 1, steps: int | None = None, prefix: np.ndarray | None = None,
               run_id: int = 1) -> RunRecord:
    """An empty record of a run of ``info``'s model."""
    length = info.spec.layout.length
    req = RunRequest(run_id, batch, prefix=prefix, steps=steps)
    return RunRecord(RunInfo(run_id, batch, length, (length,), np.arange(length), req))


def fill(record: RunRecord, events: np.ndarray, start: int, stop: int) -> StepBatch:
    """Add steps start..stop-1 whose values are ``events[start:stop]`` (every sample the same), peaked dists."""
    n, b = stop - start, record.batch
    values = np.repeat(np.asarray(events[start:stop])[:, None], b, 1).astype(np.float64)
    probs = np.full((n * b, VOCAB), 1e-4)
    flat = values.reshape(-1).astype(int)
    probs[np.arange(n * b), flat] += 0.6
    probs[np.arange(n * b), (flat + 1) % VOCAB] += 0.2
    probs /= probs.sum(1, keepdims=True)
    top, p, rest = top_entries(probs)
    dists = StepDists("bars", np.arange(VOCAB), event_labels(), p.reshape(n, b, -1).astype(np.float32),
                      np.ones((n, b), np.float32), top.reshape(n, b, -1).astype(np.uint16),
                      rest.reshape(n, b).astype(np.float32))
    lp = np.log(probs[np.arange(n * b), flat]).reshape(n, b)
    batch = StepBatch(record.run_id, np.arange(start, stop), np.arange(start, stop), values, lp,
                      np.zeros(n, bool), dists)
    record.add(batch)
    return batch


# ---- the replay ---------------------------------------------------------------------------------
def test_the_replay_gives_the_notes_the_modality_decodes_however_the_events_are_split():
    from arstudio.modalities.music.performance import Performance

    events = np.array(notes_to_events(chorale()))
    expected = np.array([tuple(n) for n in events_to_notes(events.tolist())])
    perf = Performance(len(events))
    rng = np.random.default_rng(1)
    at = 0
    while at < len(events):
        step = int(rng.integers(1, 40))
        perf.feed(events[at: at + step])
        at += step
    got = perf.notes()
    got = got[np.lexsort((got[:, 2], got[:, 0]))]
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert perf.count == len(events) and perf.open_notes() == []
    # each note knows the steps that opened and closed it, and each of those steps knows its note
    for i in range(perf.n_notes):
        assert events[perf.on_step[i]] == note_on(int(perf.pitch[i]))
        assert events[perf.off_step[i]] == note_off(int(perf.pitch[i]))
        assert perf.note_of[perf.on_step[i]] == i and perf.note_of[perf.off_step[i]] == i
    # the playhead at each step is the sum of the shifts before it
    shifts = np.where((events >= 256) & (events < 356), events - 255, 0)
    np.testing.assert_allclose(perf.time[: len(events)], np.concatenate([[0], np.cumsum(shifts)[:-1]]) * 0.01)


def test_the_replay_follows_the_decoders_rules_for_odd_sequences():
    from arstudio.modalities.music.performance import Performance

    ev = [note_off(60), velocity_event(40), note_on(60), time_shift(10), note_on(60), time_shift(5),
          note_off(62), note_on(64), time_shift(20)]
    perf = Performance(20)
    perf.feed(np.array(ev))
    assert perf.note_of[0] == -1  # a note-off of a silent pitch changes nothing
    notes = perf.notes()
    assert notes[:, 2].tolist() == [60, 60, 64]
    np.testing.assert_allclose(notes[0], [0.0, 0.1, 60, 42])  # struck again: the first ends there
    assert sorted(perf.open_notes()) == [1, 2] and np.isclose(perf.now, 0.35)
    assert np.allclose(notes[1:, 1], 0.35)  # sounding notes reach the playhead


def test_a_primer_is_cut_at_the_chosen_seconds():
    from arstudio.modalities.music.performance import Performance, cut_at_seconds

    events = np.array(notes_to_events(chorale()))
    for seconds in (0.5, 3.0, 7.25):
        kept = cut_at_seconds(events, seconds)
        p = Performance(len(kept))
        p.feed(kept)
        assert p.now <= seconds + 1e-9
        assert len(kept) == len(events) or p.now + 0.01 * (events[len(kept)] - 255) > seconds


# ---- the piano roll -----------------------------------------------------------------------------
@pytest.fixture
def roll(qtbot):
    from arstudio.qt.modalities.music.piano_roll import PianoRollView

    r = PianoRollView()
    qtbot.addWidget(r)
    r.resize(700, 400)
    r.show()
    return r


def test_the_roll_grows_incrementally_as_one_item_and_follows_the_newest_event(roll, qtbot):
    from arstudio.modalities.music.performance import Performance
    from arstudio.qt.modalities.music.piano_roll import NotesItem

    events = np.array(notes_to_events(chorale(60)))
    perf = Performance(len(events))
    roll.set_performance(perf, given=40)
    added = []
    real_add = roll.notes.add
    roll.notes.add = lambda s, e, p, b: added.append(len(s)) or real_add(s, e, p, b)
    for stop in range(0, len(events), 97):
        perf.feed(events[perf.count: stop + 97])
        roll.refresh()
    n = len(events_to_notes(events.tolist()))
    assert sum(added) == roll.notes.count == perf.n_notes == n  # every note added once, when it closed
    assert sum(len(b) for b in roll.notes.buckets) == n
    notes_items = [i for i in roll.plot.getPlotItem().items if isinstance(i, NotesItem)]
    assert notes_items == [roll.notes]
    # primer notes in their own colour; loud and soft notes in different shades
    primer = perf.on_step[: perf.n_notes] < 40
    assert sum(len(b) for b in roll.notes.buckets[8:]) == int(primer.sum()) > 0
    assert len({i for i, b in enumerate(roll.notes.buckets[:8]) if b}) >= 2
    (t0, t1), (p0, p1) = roll.visible_range()
    assert t1 >= perf.now > t0 > 0 and p0 <= perf.pitch[:n].min() and p1 >= perf.pitch[:n].max()
    assert np.isclose(roll.cursor.value(), perf.now) and roll.primer.isVisible()
    assert f"{perf.n_notes:,} notes" in roll.position.text()
    # a drag stops following; Follow brings the newest events back
    roll.vb.sigRangeChangedManually.emit([True, False])
    roll.plot.setXRange(1.0, 3.0, padding=0)
    roll.refresh()
    assert not roll.following and np.allclose(roll.visible_range()[0], (1.0, 3.0))
    roll.follow_button.click()
    assert roll.following and roll.visible_range()[0][1] >= perf.now
    roll.fit_button.click()
    assert np.isclose(roll.visible_range()[0][0], -0.02 * perf.now, atol=0.05)
    qtbot.wait(10)
    roll.grab()  # paints without error


def test_the_roll_reports_the_step_of_the_note_under_the_mouse_and_marks_the_focus(roll):
    from arstudio.modalities.music.performance import Performance

    events = np.array(notes_to_events(chorale(8)))
    perf = Performance(len(events))
    roll.set_performance(perf)
    perf.feed(events)
    roll.refresh()
    roll.fit()
    i = 5
    mid = (perf.start[i] + perf.end[i]) / 2
    pos = roll.vb.mapViewToScene(__import__("PySide6.QtCore", fromlist=["QPointF"]).QPointF(mid, perf.pitch[i]))
    assert roll.step_at(pos) == perf.on_step[i]
    text = roll.describe_note(int(perf.on_step[i]))
    assert text.startswith(f"{event_label(int(perf.pitch[i]))[3:]} · velocity {perf.velocity[i]}")
    assert f"off at step {perf.off_step[i]}" in text and roll.describe_note(-1) == ""
    off = roll.vb.mapViewToScene(__import__("PySide6.QtCore", fromlist=["QPointF"]).QPointF(mid, perf.pitch[i] + 0.5))
    assert roll.step_at(off) == -1
    roll.mark_focus(int(perf.off_step[i]))
    xs, ys = roll.focus_box.getData()
    assert np.isclose(xs.min(), perf.start[i]) and np.isclose(xs.max(), perf.end[i])
    assert ys.min() < perf.pitch[i] < ys.max() and roll.focus.isVisible()
    roll.mark_focus(-1)
    assert not roll.focus.isVisible()
    roll.set_playhead(1.5)
    assert roll.playhead.isVisible() and roll.playhead.value() == 1.5


def test_pitch_labels_are_scientific_with_c4_at_60():
    from arstudio.qt.modalities.music.piano_roll import pitch_name

    assert pitch_name(60) == "C4" and pitch_name(61) == "C#4" and pitch_name(21) == "A0"
    assert f"ON {pitch_name(64)}" == event_label(64)


# ---- the grouped distribution -------------------------------------------------------------------
def test_the_distribution_is_grouped_by_type_with_each_groups_mass(qtbot):
    from arstudio.qt.modalities.music.event_dist import EventDistView

    view = EventDistView()
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    view.set_labels(event_labels())
    p = np.full(VOCAB, 1e-6)
    p[note_on(64)], p[note_on(67)], p[note_off(60)], p[time_shift(12)], p[velocity_event(80)] = 0.3, 0.2, 0.1, 0.3, 0.1
    p /= p.sum()
    view.show_dist(np.arange(VOCAB), p, chosen=note_on(67), title="step 9")
    np.testing.assert_allclose(view.masses, [0.5, 0.1, 0.3, 0.1], atol=1e-3)
    assert [(name, round(m, 3)) for name, _, m in view.mass_bar.segments()] == [
        ("ON", 0.5), ("OFF", 0.1), ("SHIFT", 0.3), ("VEL", 0.1)]
    named = {t.toPlainText() for t in view.names}
    assert {"ON E4", "SHIFT 120 ms", "ON G4"} <= named
    brushes = view.bars.opts["brushes"]
    colours = {brushes[i].color().name() for i in (note_on(64), note_off(60), time_shift(12), velocity_event(80))}
    assert len(colours) == 4  # one colour per type
    assert brushes[note_on(67)].color().name() == "#f5a623"  # the chosen event
    assert view.chosen_mark.getData()[0].tolist() == [note_on(67)]  # marked under its bar too
    assert "ON G4" in view.caption.text() and "step 9" in view.caption.text()
    # a record's compact entries: the rest is shown apart as unlisted
    top = np.argsort(-p)[:3]
    view.show_dist(top, p[top], rest=float(1 - p[top].sum()))
    assert view.mass_bar.segments()[-1][0] == "unlisted" and "unlisted" in view.caption.text()
    view.grab()


# ---- the attention arcs -------------------------------------------------------------------------
def test_arcs_run_from_the_query_back_to_the_attended_events_per_head(qtbot):
    from arstudio.qt.modalities.music.arcs import AttentionArcsView, arc_points

    view = AttentionArcsView()
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    step, layers, heads = 30, 2, 3
    w = np.full((layers, heads, step + 1), 1e-4)
    w[1, 0, 1 + 29] = 0.9  # head 1 of the last layer: the previous event
    w[1, 1, 1 + 4] = 0.5  # head 2: event 4
    w[1, 1, 0] = 0.4  # ... and the start state
    w[1, 2, 1 + 10], w[1, 2, 0] = 0.05, 0.95  # head 3: weak on event 10, the rest on the start state
    w /= w.sum(-1, keepdims=True)
    events = np.array(notes_to_events(chorale(10)))[:step]
    view.show_attention(w, events, step, "step 30")
    assert view.layer.currentText() == "2" and view.head.count() == 4
    drawn = {(h, lv): c.getData() for (h, lv), c in view.curves.items() if c.getData()[0] is not None
             and len(c.getData()[0])}
    starts: dict[int, list[float]] = {}
    for (h, _), (x, _) in drawn.items():  # each arc starts at a key: the first point, and each after a NaN
        starts[h] = sorted(set(starts.get(h, [])) | {float(x[0])}
                           | {float(x[i + 1]) for i in np.flatnonzero(np.isnan(x[:-1]))})
    assert starts[0] == [29.0] and starts[1] == [-1.0, 4.0] and starts[2] == [-1.0, 10.0]
    level = {h: lv for (h, lv), (x, _) in drawn.items() if np.isclose(x[0], 10.0) or np.isclose(x[0], 29.0)}
    assert level[0] > level[2]  # more weight: a stronger pen
    for (_, _), (x, y) in drawn.items():
        assert np.nanmax(x) <= step and np.nanmin(y) >= 0
    view.labels = event_labels()
    assert view.describe(4).startswith(f"step 4: {event_labels()[events[4]]}") and "h2 0.5" in view.describe(4)
    assert view.describe(-1).startswith("S (the start state)") and view.describe(30) == ""
    view.head.setCurrentIndex(2)  # head 2 alone
    assert {h for (h, _), c in view.curves.items() if len(c.getData()[0] if c.getData()[0] is not None else [])} == {1}
    x, y = arc_points(np.array([0.0]), 10.0, 10.0)
    assert x[0] == 0.0 and np.isclose(x[-2], 10.0) and np.isclose(np.nanmax(y), 1.0)
    view.clear("nothing")
    assert view.weights is None
