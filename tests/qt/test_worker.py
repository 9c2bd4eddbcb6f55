"""The generation worker and the session: batching, thread-safe controls, stale runs dropped."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from arstudio.core import load_checkpoint
from arstudio.engine.messages import RunRequest, StepBatch
from arstudio.qt.sampler.session import RunSession
from arstudio.qt.sampler.thread import FREE_UPDATES_PER_S, MAX_UPDATES_PER_S, GenerationWorker, RunControl


def test_run_control_pause_step_and_cancel():
    c = RunControl(paused=True)
    assert c.wait_s(0.0) == float("inf")
    c.step_once()
    assert c.wait_turn(0.0) is True  # the one allowed step
    assert c.wait_s(0.0) == float("inf")
    released = []
    th = threading.Thread(target=lambda: released.append(c.wait_turn(0.0)))
    th.start()
    time.sleep(0.05)
    assert not released  # blocked while paused
    c.cancel()
    th.join(1.0)
    assert released == [False]


def test_run_control_paces_steps():
    c = RunControl(rate=100.0)
    last = time.monotonic()
    assert 0.0 < c.wait_s(last) <= 0.01
    t0 = time.monotonic()
    assert c.wait_turn(last)
    assert time.monotonic() - t0 >= 0.008
    c.set_rate(None)
    assert c.wait_s(time.monotonic()) == 0.0


@pytest.fixture
def big_nade(tmp_path):
    """A NADE over 32x32 pixels (1024 steps), so that a run lasts long enough to count batches."""
    import torch

    from arstudio.core import registry
    from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint

    model = registry.get("nade").build({"shape": [1, 32, 32], "hidden": 8})
    with torch.no_grad():
        model.W.normal_()
    return save_checkpoint(tmp_path / "big.safetensors", model, CheckpointMeta(kind="nade", config=model.spec.config))


def run_worker(qtbot, path, request, control, expect_finish=True):
    worker = GenerationWorker()
    batches, finished = [], []
    worker.steps_sampled.connect(lambda b: (batches.append(b), worker.batch_taken()))
    worker.run_finished.connect(finished.append)
    worker.load_checkpoint(str(path))
    t0 = time.monotonic()
    th = threading.Thread(target=worker.run, args=(request, control))
    th.start()
    qtbot.waitUntil(lambda: not th.is_alive(), timeout=20000)
    seconds = time.monotonic() - t0
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)  # queued to this thread, after every batch
    return batches, finished, seconds


def test_worker_emits_batched_steps_in_order(qtbot, big_nade):
    batches, finished, seconds = run_worker(qtbot, big_nade, RunRequest(1, batch=2, seed=0), RunControl())
    assert finished and finished[0].steps == 1024 and not finished[0].cancelled
    t = np.concatenate([b.t for b in batches])
    np.testing.assert_array_equal(t, np.arange(1024))
    assert all(b.run_id == 1 and b.values.shape == (len(b), 2) and len(b.views) == len(b) for b in batches)
    # however fast the model samples, batches are few: at unlimited speed at most 20 a second
    assert len(batches) <= seconds * FREE_UPDATES_PER_S + 3
    model, _ = load_checkpoint(big_nade)
    from arstudio.core import sample

    want = sample(model, batch=2, seed=0).numpy()
    got = np.concatenate([b.values for b in batches]).T
    np.testing.assert_array_equal(got, want)


def test_worker_paced_run_sends_at_most_60_batches_a_second(qtbot, big_nade):
    batches, finished, seconds = run_worker(qtbot, big_nade, RunRequest(2, batch=1, steps=300), RunControl(rate=1000.0))
    assert finished[0].steps == 300
    assert len(batches) <= seconds * MAX_UPDATES_PER_S + 3
    assert len(batches) >= 5  # a paced run is shown as it goes, not in one batch at the end


def test_worker_reports_the_paced_speed_from_the_second_batch(qtbot, big_nade):
    batches, finished, seconds = run_worker(qtbot, big_nade, RunRequest(4, batch=1, steps=20),
                                            RunControl(rate=50.0))
    assert finished[0].steps == 20 and len(batches) >= 5
    assert batches[0].steps_per_s == 0.0  # its time is the run's start-up, not a speed
    assert all(b.steps_per_s > 0 for b in batches[1:])  # the figure itself: tests/engine (a fake clock)
    # the pace holds the run back, however fast the model (a busy machine can only make it slower)
    assert seconds >= 19 / 50 and finished[0].seconds >= 19 / 50


def test_worker_stops_when_cancelled(qtbot, big_nade):
    control = RunControl(rate=200.0)
    threading.Timer(0.1, control.cancel).start()
    batches, finished, _ = run_worker(qtbot, big_nade, RunRequest(3, batch=1), control)
    assert finished[0].cancelled and 0 < finished[0].steps < 1024


def test_worker_reports_errors_without_raising(qtbot, tmp_path):
    worker = GenerationWorker()
    failed, finished = [], []
    worker.checkpoint_failed.connect(failed.append)
    worker.run_finished.connect(finished.append)
    worker.load_checkpoint(str(tmp_path / "missing.safetensors"))
    assert failed and "no such file" in failed[0]
    worker.run(RunRequest(1), RunControl())
    assert finished[0].error == "no model is loaded"


def test_session_drops_stale_runs(qtbot, checkpoints):
    s = RunSession()
    try:
        s.load(checkpoints["nade"])
        qtbot.waitUntil(lambda: s.model is not None)
        s.set_rate(5.0)
        first = s.start()
        qtbot.waitUntil(lambda: s.record is not None and s.record.run_id == first and s.record.filled >= 1)
        old = s.record
        second = s.start()  # cancels the first
        assert second == first + 1
        qtbot.waitUntil(lambda: s.record is not None and s.record.run_id == second)
        # a late batch of the first run arrives: it is dropped, the current record is untouched
        before = (s.dropped, s.record.filled)
        stale = StepBatch(first, np.array([0]), np.array([0]), np.ones((1, 16)), np.zeros((1, 16)),
                          np.array([False]), [old.views[0]])
        seen = []
        s.steps_sampled.connect(lambda rec, b: seen.append(b.run_id))
        s._on_steps(stale)
        assert s.dropped == before[0] + 1 and s.record.run_id == second
        qtbot.wait(300)
        assert all(r == second for r in seen)
    finally:
        assert s.shutdown()
