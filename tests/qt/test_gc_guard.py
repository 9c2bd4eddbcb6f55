"""The cyclic-GC guard of the worker threads: off while any thread is inside, restored when the last leaves."""

from __future__ import annotations

import gc
import threading

import pytest

from arstudio.qt import gc_guard
from arstudio.qt.gc_guard import collect_young, no_cyclic_gc


@pytest.fixture
def automatic_gc(monkeypatch: pytest.MonkeyPatch):
    """The guard on its own: automatic collection on and no GUI collector (as outside the studio)."""
    monkeypatch.setattr(gc_guard, "_collector", None)
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_overlapping_threads_restore_the_collector(automatic_gc) -> None:
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with no_cyclic_gc():
            entered.set()
            release.wait(5)

    th = threading.Thread(target=other)
    with no_cyclic_gc():
        th.start()
        entered.wait(5)
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread is still inside: leaving first must not switch it back on
    release.set()
    th.join(5)
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled(automatic_gc) -> None:
    gc.disable()
    try:
        with no_cyclic_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert collect_young() >= 0


def test_the_worker_samples_with_the_collector_off(qtbot, automatic_gc) -> None:
    import torch
    from PySide6.QtCore import Qt

    from arstudio.core import registry
    from arstudio.engine.messages import RunRequest
    from arstudio.qt.sampler.thread import GenerationWorker, RunControl

    worker = GenerationWorker()
    worker.set_model(registry.get("nade").build({"shape": [1, 2, 2], "hidden": 4}))
    seen = []
    worker.steps_sampled.connect(lambda b: (seen.append(gc.isenabled()), worker.batch_taken()),
                                 type=Qt.ConnectionType.DirectConnection)  # called inside the run
    done = []
    worker.run_finished.connect(done.append)
    torch.manual_seed(0)
    worker.run(RunRequest(1, batch=2, seed=0), RunControl())
    assert done and done[0].steps == 4 and seen and not any(seen)
    assert gc.isenabled()


def test_with_the_gui_collector_only_the_gui_thread_collects(qtbot, gui_collector) -> None:
    """A worker thread that makes cyclic garbage, inside and after the guard, never runs a collection."""
    assert gc_guard.gui_collector() is gui_collector and not gc.isenabled()
    threads: list[int] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            threads.append(threading.get_ident())

    def make_cycles() -> None:
        for _ in range(3):
            with no_cyclic_gc():
                for _ in range(20_000):
                    a: list = []
                    a.append(a)
            for _ in range(20_000):  # outside the guard too: where the crash came from
                b: list = []
                b.append(b)

    gc.callbacks.append(note)
    try:
        th = threading.Thread(target=make_cycles)
        th.start()
        th.join(30)
        assert not gc.isenabled() and not threads  # nothing collected in the worker thread
        found = gui_collector.tick()
        qtbot.waitUntil(lambda: gui_collector.ticks >= 2, timeout=5000)  # the timer goes on ticking
    finally:
        gc.callbacks.remove(note)
    assert found >= 1 and threads and set(threads) == {threading.get_ident()}
