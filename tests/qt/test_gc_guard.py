"""The cyclic-GC guard of the worker threads: off while any thread is inside, restored when the last leaves."""

from __future__ import annotations

import gc
import threading

from arstudio.qt.gc_guard import collect_young, no_cyclic_gc


def test_overlapping_threads_restore_the_collector() -> None:
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


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with no_cyclic_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert collect_young() >= 0


def test_the_worker_samples_with_the_collector_off(qtbot) -> None:
    import torch
    from PySide6.QtCore import Qt

    from arstudio.core import registry
    from arstudio.qt.messages import RunRequest
    from arstudio.qt.worker import GenerationWorker, RunControl

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
