"""The studio's sampler in a child process: the same messages as in a thread, steering, crashes, shutdown."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from arstudio.core import load_checkpoint, sample
from arstudio.core.dists import DistView
from arstudio.core.generate import Step
from arstudio.engine.messages import RunSummary
from arstudio.engine.sampling import Emitter, InFlight, PackedBatch
from arstudio.qt.sampler.session import FINISHED, PAUSED, RunSession


@pytest.fixture
def session(qtbot):
    s = RunSession(sampler="process")
    yield s
    assert s.shutdown()


def loaded(qtbot, s: RunSession, path) -> None:
    s.load(path)
    qtbot.waitUntil(lambda: s.model is not None, timeout=30000)


def finished_runs(s: RunSession) -> list[RunSummary]:
    done: list[RunSummary] = []
    s.run_finished.connect(done.append)
    return done


@pytest.mark.parametrize("launcher", ["exec", "spawn"])
def test_process_run_gives_the_samples_of_the_core_loop(qtbot, session, checkpoints, launcher):
    session.sampler.launcher = launcher  # the child starts at the first load
    loaded(qtbot, session, checkpoints["made"])
    assert session.sampler_kind == "process" and session.sampler.pid != os.getpid()
    done = finished_runs(session)
    session.set_settings(session.settings.__class__(batch=3, seed=11))
    session.start()
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    rec = session.record
    assert done[0].error is None and not done[0].cancelled and rec.filled == 64
    model, _ = load_checkpoint(checkpoints["made"])
    np.testing.assert_array_equal(rec.data(), sample(model, batch=3, seed=11).numpy())
    assert all(v is not None and v.probs.shape == (3, 2) for v in rec.views)  # every step's distribution came along


def test_process_run_pauses_steps_and_cancels(qtbot, session, checkpoints):
    loaded(qtbot, session, checkpoints["nade"])
    done: list[RunSummary] = []
    session.sampler.run_finished.connect(done.append)  # the child's own report (the session drops a reset run's)
    session.set_rate(20.0)
    session.start(paused=True)
    assert session.state == PAUSED
    qtbot.waitUntil(lambda: session.record is not None, timeout=10000)
    qtbot.wait(300)
    assert session.record.filled == 0  # paused: nothing sampled
    session.step_once()
    qtbot.waitUntil(lambda: session.record.filled == 1, timeout=5000)
    session.play()  # resume at 20 steps/s
    qtbot.waitUntil(lambda: session.record.filled >= 4, timeout=5000)
    session.pause()
    qtbot.wait(200)
    held = session.record.filled
    qtbot.wait(300)
    assert session.record.filled == held < 64
    session.reset()  # cancels the run
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert done[0].cancelled and done[0].steps == held


def test_process_reports_a_bad_checkpoint_in_one_line(qtbot, session, tmp_path):
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    failed: list[str] = []
    session.checkpoint_failed.connect(failed.append)
    session.load(bad)
    qtbot.waitUntil(lambda: bool(failed), timeout=30000)
    assert "corrupt.safetensors" in failed[0] and "\n" not in failed[0]
    assert session.model is None


def test_a_killed_sampler_fails_its_run_and_the_next_run_starts_a_new_one(qtbot, session, checkpoints):
    loaded(qtbot, session, checkpoints["nade"])
    done = finished_runs(session)
    session.set_rate(5.0)
    session.start()
    qtbot.waitUntil(lambda: session.record is not None and session.record.filled >= 1, timeout=10000)
    first = session.sampler.pid
    os.kill(first, signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    assert done[0].error and "stopped unexpectedly" in done[0].error
    assert session.state == FINISHED
    session.set_rate(None)
    session.start()  # a new child, which reloads the checkpoint quietly first
    qtbot.waitUntil(lambda: len(done) == 2, timeout=30000)
    assert done[1].error is None and done[1].steps == 64 and session.sampler.pid != first


def test_shutdown_mid_run_stops_the_child(qtbot, checkpoints):
    s = RunSession(sampler="process")
    loaded(qtbot, s, checkpoints["nade"])
    s.set_rate(5.0)
    s.start()
    qtbot.waitUntil(lambda: s.record is not None and s.record.filled >= 1, timeout=30000)
    proc = s.sampler._proc
    # A grace period no busy machine runs out of: the child must quit by itself, not be terminated.
    assert s.shutdown(timeout_ms=120_000)
    assert not proc.is_alive() and proc.exitcode == 0  # it quit, was not killed


def test_closing_the_studio_mid_run_stops_its_sampling_process(qtbot, checkpoints, monkeypatch):
    monkeypatch.setenv("ARSTUDIO_SAMPLER", "process")
    from arstudio.qt.main_window import MainWindow

    w = MainWindow(checkpoints["nade"])
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.session.model is not None, timeout=30000)
    w.controls.set_rate(10.0)
    w.session.play()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled >= 2, timeout=10000)
    proc = w.session.sampler._proc
    w.close()
    assert not proc.is_alive()


def steps_with(views: list[DistView]) -> list[Step]:
    return [Step(t, 10 + t, np.full(2, t % 2), np.full(2, -0.5), v, forced=t == 1) for t, v in enumerate(views)]


def test_emitter_packs_compact_steps_and_cuts_the_batch_when_the_support_changes():
    support = np.arange(2)
    same = [DistView("bars", support, np.full((2, 2), 0.5), np.full(2, 0.69), ("0", "1")) for _ in range(3)]
    sent: list[PackedBatch] = []
    e = Emitter(sent.append, 7, InFlight(), 1.0)
    for s in steps_with(same):
        e.add(s)
    e.flush(force=True)
    packed = sent[0]
    assert packed.dists.probs.shape == (3, 2, 2)
    b = packed.unpack()
    np.testing.assert_array_equal(b.t, [0, 1, 2])
    np.testing.assert_array_equal(b.index, [10, 11, 12])
    np.testing.assert_array_equal(b.forced, [False, True, False])
    np.testing.assert_array_equal(b.values[:, 0], [0, 1, 0])
    assert len(b.views) == 3 and b.views[2].labels == ("0", "1")
    # a step over another support: the batch so far goes first, then each format in its own batch, none lost
    other = DistView("bars", np.arange(3), np.full((2, 3), 1 / 3), np.full(2, 1.1), None)
    e2 = Emitter(sent.append, 8, InFlight(), 1.0)
    for s in steps_with([same[0], same[1], other, same[2]]):
        e2.add(s)
    e2.flush(force=True)
    mixed = [v for p in sent[1:] for v in p.unpack().views]
    assert len(sent) == 4
    assert [v.probs.shape for v in mixed] == [(2, 2), (2, 2), (2, 3), (2, 2)]
    np.testing.assert_allclose(mixed[0].probs, 0.5)
    np.testing.assert_allclose(mixed[2].probs, 1 / 3)


def test_emitter_grows_past_its_first_buffer():
    view = DistView("bars", np.arange(2), np.full((2, 2), 0.5), np.full(2, 0.69), None)
    sent: list[PackedBatch] = []
    e = Emitter(sent.append, 1, InFlight(), 1e9)
    steps = [Step(t, t, np.full(2, t), np.full(2, -float(t)), view) for t in range(150)]
    for s in steps:
        e.add(s)
    e.flush(force=True)
    b = sent[0].unpack()
    np.testing.assert_array_equal(b.t, np.arange(150))
    np.testing.assert_array_equal(b.values[:, 1], np.arange(150))
    np.testing.assert_array_equal(b.log_prob[:, 0], -np.arange(150))


def test_an_unreadable_reply_ends_the_run_with_a_message(qtbot):
    import multiprocessing
    import threading

    from arstudio.qt.sampler.process import ProcessSampler

    class StandInChild:  # what the reader needs of a child process
        exitcode = -15
        terminated = False

        def terminate(self) -> None:
            self.terminated = True

        def join(self, timeout: float | None = None) -> None:
            pass

    s = ProcessSampler()
    replies, child_end = multiprocessing.Pipe(duplex=False)
    child = StandInChild()
    s._proc, s._active = child, 4
    done: list[RunSummary] = []
    s.run_finished.connect(done.append)
    child_end.send_bytes(b"not a pickle")
    reader = threading.Thread(target=s._read, args=(replies, child))
    reader.start()
    reader.join(5)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert child.terminated and done[0].run_id == 4
    assert "unreadable reply" in done[0].error and "\n" not in done[0].error
    child_end.close()


def test_a_script_without_a_main_guard_can_open_a_process_sampler(tmp_path, checkpoints):
    """The child is a fresh interpreter running only arstudio.engine.child: the script is not run again."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import time\n"
        "from PySide6.QtCore import QCoreApplication, QEventLoop\n"
        "from arstudio.qt.sampler.session import RunSession\n"
        "app = QCoreApplication([])\n"
        "print('script body ran', flush=True)\n"
        "s = RunSession(sampler='process')\n"
        "done = []\n"
        "s.run_finished.connect(done.append)\n"
        f"s.load({str(checkpoints['nade'])!r})\n"
        "end = time.monotonic() + 60\n"
        "while s.model is None and time.monotonic() < end:\n"
        "    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)\n"
        "s.start()\n"
        "while not done and time.monotonic() < end:\n"
        "    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)\n"
        "print('steps', done[0].steps if done else None, flush=True)\n"
        "s.shutdown()\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("script body ran") == 1 and "steps 64" in out.stdout
