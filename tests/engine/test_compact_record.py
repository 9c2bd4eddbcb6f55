"""The compact run record: per step the value, its log p, the top entries and the rest mass, in bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from arstudio.core.dists import DistView, value_support
from arstudio.core.generate import Step
from arstudio.engine.messages import (DENSITY_POINTS, TOP_K, WHOLE_SUPPORT, RunInfo, RunRequest, StepDists,
                                      top_entries)
from arstudio.engine.record import RunRecord
from arstudio.engine.sampling import Emitter, InFlight, PackedBatch


def record(length: int, batch: int) -> RunRecord:
    return RunRecord(RunInfo(1, batch, length, (length,), np.arange(length), RunRequest(1, batch=batch)))


def softmax(logits: np.ndarray) -> np.ndarray:
    p = np.exp(logits - logits.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def bars(probs: np.ndarray, labels: tuple[str, ...] | None = None) -> DistView:
    p = np.asarray(probs, np.float32)
    return DistView("bars", value_support(p.shape[-1]), p, -(p * np.log(np.maximum(p, 1e-30))).sum(-1), labels)


def test_top_entries_are_the_first_k_of_a_stable_sort_and_the_rest_is_the_others_mass():
    rng = np.random.default_rng(0)
    p = softmax(rng.normal(size=(5, 256)) * 2)
    p[0, [3, 7, 9]] = p[0].max()  # ties: the lower position first, as a stable sort of the row
    pos, top, rest = top_entries(p, TOP_K)
    want = np.argsort(-p, axis=1, kind="stable")[:, :TOP_K]
    np.testing.assert_array_equal(pos, want)
    np.testing.assert_array_equal(top, np.take_along_axis(p, want, 1))
    others = p.sum(1, dtype=np.float64) - top.sum(1, dtype=np.float64)
    np.testing.assert_allclose(rest, others, atol=1e-7)


def test_small_supports_travel_whole_large_ones_cut_and_densities_on_a_small_grid():
    rng = np.random.default_rng(1)
    small = StepDists.compact([bars(softmax(rng.normal(size=(3, 17))))])
    assert small.top is None and small.rest is None and small.probs.shape == (1, 3, 17)
    assert 17 <= WHOLE_SUPPORT
    large = StepDists.compact([bars(softmax(rng.normal(size=(3, 256)))) for _ in range(4)])
    assert large.probs.shape == (4, 3, TOP_K) and large.top.shape == (4, 3, TOP_K) and large.rest.shape == (4, 3)
    assert large.top.dtype == np.uint16 and large.probs.dtype == np.float32
    grid = np.linspace(0.0, 1.0, 201)
    dens = DistView("density", grid, np.exp(-((grid - 0.3) ** 2) / 0.01)[None].repeat(2, 0), np.full(2, -0.5))
    d = StepDists.compact([dens])
    assert d.top is None and d.probs.shape == (1, 2, DENSITY_POINTS) == (1, 2, len(d.support))
    assert d.support[0] == 0.0 and d.support[-1] == 1.0  # both ends of the grid kept
    np.testing.assert_allclose(d.probs[0, 0], dens.probs[0, ::2], rtol=1e-6)
    row = d.row(0, 1)
    assert row.kind == "density" and row.rest is None and row.probs.shape == (1, DENSITY_POINTS)


def test_a_batch_reports_its_steps_per_second_from_the_second_one(monkeypatch):
    from arstudio.engine import emitter

    now = [100.0]
    monkeypatch.setattr(emitter.time, "monotonic", lambda: now[0])  # the emitter's clock, and only it, is ours
    sent: list[PackedBatch] = []
    in_flight = InFlight()
    e = Emitter(lambda b: (sent.append(b), in_flight.taken()), 1, in_flight, 0.05)  # a GUI that keeps up
    v = bars(np.full((1, 2), 0.5), ("0", "1"))
    t = 0
    for seconds, steps in ((0.3, 1), (0.5, 10), (0.2, 4)):  # three batches: time passes, steps come
        for _ in range(steps):
            e.add(Step(t, t, np.full(1, 1), np.log(v.probs[:, 1]), v), False)
            t += 1
        now[0] += seconds
        e.flush()
    assert [len(b) for b in sent] == [1, 10, 4]
    assert sent[0].steps_per_s == 0.0  # the first batch's time is the run's start-up
    assert [b.steps_per_s for b in sent[1:]] == pytest.approx([10 / 0.5, 4 / 0.2])  # steps / time since the last batch


def test_the_emitter_sends_compact_batches_and_cuts_a_batch_where_the_format_changes():
    rng = np.random.default_rng(2)
    two = [bars(softmax(rng.normal(size=(2, 2))), ("0", "1")) for _ in range(3)]
    three = bars(softmax(rng.normal(size=(2, 3))))
    big = bars(softmax(rng.normal(size=(2, 300))))
    views = [two[0], two[1], three, big, two[2]]
    sent: list[PackedBatch] = []
    e = Emitter(sent.append, 1, InFlight(), 1e9)
    for t, v in enumerate(views):
        e.add(Step(t, 10 + t, np.full(2, 1), np.log(v.probs[:, 1]), v, forced=t == 1))
    e.flush(force=True)
    assert [len(b) for b in sent] == [2, 1, 1, 1]  # none lost, each batch of one format
    assert np.concatenate([b.t for b in sent]).tolist() == [0, 1, 2, 3, 4]
    assert np.concatenate([b.forced for b in sent]).tolist() == [False, True, False, False, False]
    assert sent[0].dists.labels == ("0", "1") and sent[0].dists.probs.shape == (2, 2, 2)
    assert sent[2].dists.top is not None and sent[2].dists.probs.shape == (1, 2, TOP_K)
    rec = record(5, 2)
    for b in sent:
        rec.add(b.unpack())
    for t, v in enumerate(views):
        for s in range(2):
            got = rec.view(t, s)
            if v is big:
                keep = np.argsort(-v.probs[s], kind="stable")[:TOP_K]
                np.testing.assert_array_equal(got.support[:TOP_K], keep)
                assert got.total == 300 and got.rest is not None
            else:
                np.testing.assert_array_equal(got.support, v.support)
                np.testing.assert_allclose(got.probs[0], v.probs[s], rtol=1e-6)
                assert got.rest is None and got.labels == v.labels
    assert rec.views[2].probs.shape == (2, 3) and rec.views[3].probs.shape == (2, 300)  # whole-support rows


def test_a_long_run_keeps_bounded_memory_and_hover_shows_what_the_live_view_showed():
    steps, batch, levels, chunk = 20_000, 2, 256, 500
    rng = np.random.default_rng(3)
    rec = record(steps, batch)
    full: dict[int, np.ndarray] = {}  # the whole distributions of a few steps, to check against
    live: dict[tuple[int, int], DistView] = {}  # what the live view showed when a step was the newest
    checked = set(rng.choice(steps, 40, replace=False).tolist()) | {0, steps - 1}
    for t0 in range(0, steps, chunk):
        t = np.arange(t0, t0 + chunk)
        probs = softmax(rng.normal(size=(chunk, batch, levels)) * 2.5)
        values = rng.integers(0, levels, size=(chunk, batch))  # often outside the top entries
        log_prob = np.log(np.take_along_axis(probs, values[..., None], 2)[..., 0])
        pos, top, rest = top_entries(probs.reshape(-1, levels), TOP_K)
        dists = StepDists("bars", value_support(levels), None, top.reshape(chunk, batch, TOP_K),
                          np.zeros((chunk, batch), np.float32), pos.astype(np.uint16).reshape(chunk, batch, TOP_K),
                          rest.astype(np.float32).reshape(chunk, batch))
        rec.add(PackedBatch(1, t, t, values.astype(float), log_prob, np.zeros(chunk, bool), 0.0, dists).unpack())
        for i in checked & set(t.tolist()):
            full[i] = probs[i - t0]
        for s in range(batch):
            live[rec.last_step, s] = rec.view(rec.last_step, s)  # what the inspector shows as the run goes
    assert rec.filled == steps

    per_10k = rec.nbytes() / (steps / 10_000)
    assert per_10k < 3e6, f"{per_10k / 1e6:.1f} MB per 10k steps"
    assert rec.nbytes() < 0.15 * steps * batch * levels * 4  # the whole float32 distributions
    per_step = [k for k, v in vars(rec).items() if isinstance(v, (list, dict, tuple)) and len(v) > 8]
    assert not per_step  # no Python object per step

    for (step, s), shown in live.items():  # hovering a past step: the very entries the live view had
        again = rec.view(step, s)
        np.testing.assert_array_equal(again.support, shown.support)
        np.testing.assert_array_equal(again.probs, shown.probs)
        np.testing.assert_array_equal(again.rest, shown.rest)
    for step, p in full.items():
        for s in range(batch):
            v = rec.view(step, s)
            want = np.argsort(-p[s], kind="stable")[:TOP_K]
            np.testing.assert_array_equal(v.support[:TOP_K], want)
            np.testing.assert_allclose(v.probs[0, :TOP_K], p[s, want], rtol=1e-6)
            chosen = int(rec.values[step, s])
            assert chosen in v.support  # the chosen value is always shown, with the p it had
            np.testing.assert_allclose(v.probs[0][list(v.support).index(chosen)], p[s, chosen], rtol=1e-5)
            assert v.total == levels and v.others == levels - len(v.support)
            listed = p[s, v.support].sum(dtype=np.float64)
            assert v.rest[0] == pytest.approx(p[s].sum(dtype=np.float64) - listed, abs=1e-5)


def test_a_ten_second_audio_run_fits_in_tens_of_megabytes():
    steps, levels = 10 * 16_000, 256
    rec = record(steps, 1)
    p = np.full((1, levels), 1 / levels, np.float32)
    batch = PackedBatch(1, np.array([0]), np.array([0]), np.zeros((1, 1)), np.zeros((1, 1)), np.array([False]), 0.0,
                        StepDists.compact([bars(p)]))
    rec.add(batch.unpack())
    whole = steps * levels * 4  # float32 per level and step: 164 MB a sample (2.6 GB for a batch of 16)
    assert rec.nbytes() < 25e6 and rec.nbytes() < whole / 7
