"""Closing the studio mid-run: the window goes first, then the run is cancelled and the sampler stopped."""

from __future__ import annotations

import os
import signal

from arstudio.qt.main_window import CLOSE_GRACE_MS
from arstudio.qt.sampler.session import RunSession


def test_the_window_is_hidden_before_the_sampler_is_joined(studio, qtbot, checkpoints, monkeypatch) -> None:
    w = studio(checkpoints["nade"], rate=5)
    w.show()
    qtbot.waitExposed(w)
    w.session.play()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled >= 1, timeout=20000)
    seen: list[tuple[bool, dict]] = []
    real = w.session.shutdown

    def shutdown(*args, **kwargs):
        seen.append((w.isVisible(), kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(w.session, "shutdown", shutdown)
    w.close()
    assert seen == [(False, {"process_grace_ms": CLOSE_GRACE_MS})]  # hidden first, then joined
    assert not w.session.sampler.alive()


def test_a_sampling_process_that_does_not_quit_is_stopped(qtbot, checkpoints) -> None:
    s = RunSession(sampler="process")
    with qtbot.waitSignal(s.checkpoint_loaded, timeout=30000):
        s.load(str(checkpoints["nade"]))
    s.set_rate(5.0)
    s.start()
    qtbot.waitUntil(lambda: s.record is not None and s.record.filled >= 1, timeout=20000)
    proc = s.sampler._proc
    os.kill(proc.pid, signal.SIGSTOP)  # deaf to "quit" and to SIGTERM
    s.shutdown(process_grace_ms=100)
    assert not proc.is_alive()
