"""The one worker helper: newest request wins, stale results dropped, failures as one line, safe shutdown."""

from __future__ import annotations

import gc
import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QWidget

from arstudio.qt import gc_guard
from arstudio.qt.jobs import JobRunner, one_line


class Results:
    """What a runner delivered, in order."""

    def __init__(self, runner: JobRunner) -> None:
        self.finished: list[tuple[int, object]] = []
        self.failed: list[tuple[int, str]] = []
        self.progressed: list[tuple[int, object]] = []
        runner.finished.connect(lambda i, v: self.finished.append((i, v)))
        runner.failed.connect(lambda i, m: self.failed.append((i, m)))
        runner.progressed.connect(lambda i, v: self.progressed.append((i, v)))


@pytest.fixture
def runner(qtbot):
    r = JobRunner("arstudio-test-jobs")
    yield r
    assert r.shutdown(5000)


def test_a_job_runs_in_the_worker_thread_and_its_result_comes_back(qtbot, runner) -> None:
    got, delivered_in = Results(runner), []
    runner.finished.connect(lambda *_: delivered_in.append(threading.get_ident()))
    jid = runner.submit(lambda a, b=0: (a + b, threading.get_ident()), 2, b=3)
    qtbot.waitUntil(lambda: bool(got.finished), timeout=5000)
    (i, (value, ident)), = got.finished
    assert i == jid and value == 5 and ident != threading.get_ident()
    assert delivered_in == [threading.get_ident()]  # the result arrives in the GUI thread
    assert runner.worker_thread is not QThread.currentThread() and runner.is_running()


def test_the_newest_request_wins_and_stale_ones_are_dropped(qtbot, runner) -> None:
    got, ran = Results(runner), []
    release = threading.Event()

    def job(n: int) -> int:
        ran.append(n)
        if n == 1:
            release.wait(5)
        return n

    first = runner.submit(job, 1)
    qtbot.waitUntil(lambda: ran == [1], timeout=5000)  # running, blocked
    runner.submit(job, 2)  # waits, then is superseded before it runs
    last = runner.submit(job, 3)
    assert runner.newest() == last and first < last
    release.set()
    qtbot.waitUntil(lambda: bool(got.finished), timeout=5000)
    qtbot.wait(50)
    assert got.finished == [(last, 3)]  # job 1's result was stale on arrival
    assert ran == [1, 3]  # job 2 never ran


def test_lanes_do_not_supersede_each_other(qtbot, runner) -> None:
    got = Results(runner)
    a = runner.submit_to("a", lambda: "a")
    b = runner.submit_to("b", lambda: "b")
    qtbot.waitUntil(lambda: len(got.finished) == 2, timeout=5000)
    assert got.finished == [(a, "a"), (b, "b")]


def test_an_exception_becomes_one_failed_line_and_the_runner_goes_on(qtbot, runner) -> None:
    got = Results(runner)

    def bad() -> None:
        raise ValueError("the model is not loaded\nand more detail")

    jid = runner.submit(bad)
    qtbot.waitUntil(lambda: bool(got.failed), timeout=5000)
    assert got.failed == [(jid, "ValueError: the model is not loaded")] and not got.finished
    ok = runner.submit(lambda: 7)
    qtbot.waitUntil(lambda: bool(got.finished), timeout=5000)
    assert got.finished == [(ok, 7)]
    assert one_line(KeyError()) == "KeyError"


def test_a_generator_job_sends_progress_then_its_return_value(qtbot, runner) -> None:
    got = Results(runner)

    def counting():
        for i in range(3):
            yield i
        return "done"

    jid = runner.submit(counting)
    qtbot.waitUntil(lambda: bool(got.finished), timeout=5000)
    assert got.progressed == [(jid, 0), (jid, 1), (jid, 2)] and got.finished == [(jid, "done")]


def test_a_superseded_generator_is_closed_at_its_next_yield(qtbot, runner) -> None:
    got, closed = Results(runner), threading.Event()

    def endless():
        try:
            while True:
                time.sleep(0.005)
                yield 1
        finally:
            closed.set()

    old = runner.submit(endless)
    qtbot.waitUntil(lambda: bool(got.progressed), timeout=5000)
    new = runner.submit(lambda: "new")
    qtbot.waitUntil(lambda: bool(got.finished), timeout=5000)
    assert closed.is_set() and got.finished == [(new, "new")]
    n = len(got.progressed)
    qtbot.wait(50)
    assert len(got.progressed) == n and all(i == old for i, _ in got.progressed)


def test_a_plain_job_reports_progress_and_sees_cancel(qtbot, runner) -> None:
    got, seen = Results(runner), threading.Event()

    def training() -> str:
        runner.report("step 1")
        seen.set()
        deadline = time.monotonic() + 5
        while not runner.cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        return "stopped"

    runner.submit(training)
    with pytest.raises(RuntimeError):
        runner.report("not from the GUI thread")
    assert seen.wait(5)
    qtbot.waitUntil(lambda: bool(got.progressed), timeout=5000)
    runner.cancel()
    qtbot.waitUntil(lambda: not runner.busy(), timeout=5000)
    qtbot.wait(50)
    assert got.progressed[0][1] == "step 1" and not got.finished  # cancelled: its result is dropped


def test_shutdown_mid_job_joins_the_thread(qtbot) -> None:
    r = JobRunner("arstudio-test-shutdown")
    got, started = Results(r), threading.Event()

    def long_job() -> str:
        started.set()
        while not r.cancelled():
            time.sleep(0.005)
        return "late"

    r.submit(long_job)
    r.submit_to("other", lambda: "queued")
    assert started.wait(5)
    assert r.shutdown(5000)
    assert r.worker_thread.isFinished() and not r.is_running()
    assert r.shutdown(100)  # twice is fine
    r.submit(lambda: "after")  # accepted and dropped
    qtbot.wait(50)
    assert not got.finished and not got.failed


def test_deleting_the_owner_with_a_job_running_stops_the_thread(qtbot) -> None:
    owner = QWidget()
    r = JobRunner("arstudio-test-owner", parent=owner)
    started = threading.Event()

    def long_job() -> None:
        started.set()
        while not r.cancelled():
            time.sleep(0.005)

    r.submit(long_job)
    thread = r.worker_thread
    assert started.wait(5)
    owner.deleteLater()
    qtbot.waitUntil(lambda: thread.isFinished(), timeout=5000)
    del owner, r
    gc.collect()
    qtbot.wait(20)


def test_jobs_run_with_the_cyclic_gc_off(qtbot, runner, monkeypatch) -> None:
    monkeypatch.setattr(gc_guard, "_collector", None)  # the guard on its own, automatic collection on
    was = gc.isenabled()
    gc.enable()
    try:
        got = Results(runner)
        runner.submit(gc.isenabled)
        qtbot.waitUntil(lambda: bool(got.finished), timeout=5000)
        assert got.finished[0][1] is False
        qtbot.waitUntil(gc.isenabled, timeout=5000)  # back on once the job has left the guard
    finally:
        if not was:
            gc.disable()


def test_deleting_a_training_dialog_mid_run_stops_the_run(qtbot) -> None:
    """The owner deleted without shutdown(): the runner stops the training (as a cancel would) and joins."""
    from arstudio.qt.checkpoints.train_dialog import TrainDialog

    d = TrainDialog()
    d.kind.setCurrentIndex(d.kind.findData("nade"))
    d.steps.setValue(1_000_000)
    d.name.setText("deleted-mid-run")
    assert d.start()
    qtbot.waitUntil(lambda: d.progress.value() > 0, timeout=30000)
    d.toggle_pause()  # paused, too: the wait between steps gives way as well
    thread = d.jobs.worker_thread
    d.deleteLater()
    qtbot.waitUntil(thread.isFinished, timeout=15000)
