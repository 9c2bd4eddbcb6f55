"""Classes 5 and 6: Ctrl-C closes the studio as its window's close does; garbage on the sampler child's
command pipe ends the child (the studio restarts it as after a crash), and writes never block the GUI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from arstudio.engine.messages import RunSummary

from .conftest import tiny_checkpoint


@pytest.fixture(autouse=True)
def gui_collector(qapp: Any) -> Any:
    from arstudio.qt.gc_guard import install_gui_collector

    return install_gui_collector(qapp)


# ---- Ctrl-C ------------------------------------------------------------------------------------------
@pytest.fixture
def terminal_sigint() -> Any:
    """SIGINT as a terminal's foreground job has it. The suite may itself run with SIGINT ignored (a
    script's ``make test &`` ignores it in everything it starts), and the studio leaves an ignored
    SIGINT ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("terminal_sigint")
def test_sigint_closes_the_window_as_its_close_does(qtbot: Any, qapp: Any, nade: Path, user_models: Path) -> None:
    from arstudio.qt.interrupt import close_on_interrupt
    from arstudio.qt.main_window import MainWindow

    w = MainWindow(nade)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.session.model is not None, timeout=30000)
    before = signal.getsignal(signal.SIGINT)
    restore = close_on_interrupt(w, qapp)
    try:
        w.session.play()
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=10000)
        assert w._closed  # closeEvent ran: settings saved, run cancelled, workers joined
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.usefixtures("terminal_sigint")
def test_a_tick_lets_python_see_the_signal(qtbot: Any, qapp: Any) -> None:
    from PySide6.QtWidgets import QWidget

    from arstudio.qt.interrupt import close_on_interrupt

    w = QWidget()
    qtbot.addWidget(w)
    w.show()
    restore = close_on_interrupt(w, qapp)
    try:
        assert qapp.findChild(object, "arstudio-interrupt-tick") is not None
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    finally:
        restore()


@pytest.mark.usefixtures("terminal_sigint")
def test_ctrl_c_closes_the_window_over_an_open_message_box(qtbot: Any, qapp: Any) -> None:
    from PySide6.QtWidgets import QMainWindow, QMessageBox

    from arstudio.qt.interrupt import close_on_interrupt

    w = QMainWindow()
    qtbot.addWidget(w)
    w.show()
    box = QMessageBox(QMessageBox.Icon.Warning, "Problem", "an error shown to the user", QMessageBox.StandardButton.Ok, w)
    box.open()  # window-modal, as the studio shows errors
    restore = close_on_interrupt(w, qapp)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: not w.isVisible() and not box.isVisible(), timeout=5000)
    finally:
        restore()


def test_an_ignored_sigint_stays_ignored(qtbot: Any, qapp: Any) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QWidget

    from arstudio.qt.interrupt import close_on_interrupt

    w = QWidget()
    qtbot.addWidget(w)
    w.show()
    ticks = len(qapp.findChildren(QTimer, "arstudio-interrupt-tick"))  # earlier tests' may await deleteLater
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as `arstudio &` in a shell script starts it
    try:
        restore = close_on_interrupt(w, qapp)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        assert len(qapp.findChildren(QTimer, "arstudio-interrupt-tick")) == ticks
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.wait(300)  # more than a tick: nothing is scheduled to close it
        assert w.isVisible()
        restore()
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.slow
def test_ctrl_c_in_a_running_studio_exits_cleanly(user_models: Path, tmp_path: Path) -> None:
    ckpt = tiny_checkpoint(user_models)
    script = tmp_path / "studio.py"
    script.write_text(textwrap.dedent(f"""
        import faulthandler, os, signal, sys, threading, time
        faulthandler.dump_traceback_later(240, exit=True)  # a hang shows every thread's stack, not a bare timeout
        # SIGINT as a terminal's foreground job has it: this suite may run with it ignored (a script's
        # `make test &`), and the studio rightly leaves an ignored SIGINT ignored
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from arstudio.qt import app

        def interrupt_once_installed():
            # the studio's own handler replaces Python's default one when it is up: as long as that
            # takes (a busy machine may need a minute), then Ctrl-C once
            while signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                time.sleep(0.1)
            time.sleep(0.5)
            print("arstudio-test: SIGINT sent", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt_once_installed, daemon=True).start()
        sys.exit(app.main([{str(ckpt)!r}, "--play"]))
    """))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ARSTUDIO_SAMPLER": "thread",
           "ARSTUDIO_CONFIG_DIR": str(tmp_path / "config")}
    # Seconds on a quiet machine, ~20 s with both cores busy; the bound only stops a hang.
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "arstudio-test: SIGINT sent" in proc.stderr
    assert "KeyboardInterrupt" not in proc.stderr and "Traceback" not in proc.stderr


# ---- the sampler child's command pipe ------------------------------------------------------------------
@pytest.fixture
def session(qtbot: Any) -> Any:
    from arstudio.qt.sampler.session import RunSession

    s = RunSession(sampler="process")
    yield s
    assert s.shutdown()


def _loaded(qtbot: Any, s: Any, path: Path) -> None:
    s.load(path)
    qtbot.waitUntil(lambda: s.model is not None, timeout=60000)


@pytest.mark.parametrize("garbage", [b"not a pickle", b"", "pickled but not a command", ("pause", 1, 2, 3)])
def test_garbage_on_the_command_pipe_ends_the_child_and_it_restarts(qtbot: Any, session: Any, nade: Path,
                                                                    garbage: Any) -> None:
    from multiprocessing.reduction import ForkingPickler

    _loaded(qtbot, session, nade)
    sampler = session.sampler
    first = sampler._proc
    writer = sampler._commands
    raw = garbage if isinstance(garbage, bytes) else bytes(ForkingPickler.dumps(garbage))
    writer.conn.send_bytes(raw)  # straight onto the pipe, as a stray write would
    qtbot.waitUntil(lambda: not first.is_alive(), timeout=20000)
    assert first.exitcode == 3  # it ended itself: not deaf, not killed
    done: list[RunSummary] = []
    session.run_finished.connect(done.append)
    session.start()  # a new child, which reloads the checkpoint quietly first
    qtbot.waitUntil(lambda: bool(done), timeout=60000)
    assert done[-1].error is None and sampler._proc is not first and sampler._proc.is_alive()


def test_a_length_prefix_claiming_gigabytes_is_refused(qtbot: Any, session: Any, nade: Path) -> None:
    _loaded(qtbot, session, nade)
    first = session.sampler._proc
    os.write(session.sampler._commands.conn.fileno(), (2**31 - 1).to_bytes(4, "big") + b"xx")
    qtbot.waitUntil(lambda: not first.is_alive(), timeout=20000)
    assert first.exitcode == 3


def test_commands_to_a_deaf_child_never_block_the_gui(qtbot: Any, session: Any, nade: Path) -> None:
    from arstudio.qt.sampler.process import MAX_PENDING

    _loaded(qtbot, session, nade)
    sampler = session.sampler
    child = sampler._proc
    os.kill(child.pid, signal.SIGSTOP)  # alive but reading nothing: the pipe fills up
    try:
        big = "x" * 65536
        for i in range(MAX_PENDING * 4):
            sampler.command("rate", i, big)  # each one bigger than the pipe's buffer: a write from this
            # thread would block here for good (the child reads nothing), so getting past the loop is the check
        qtbot.waitUntil(lambda: not child.is_alive(), timeout=20000)  # a stuck child is stopped ...
    finally:
        if child.is_alive():
            os.kill(child.pid, signal.SIGCONT)
    done: list[RunSummary] = []
    session.run_finished.connect(done.append)
    session.start()  # ... and the next run starts a new one
    qtbot.waitUntil(lambda: bool(done), timeout=60000)
    assert done[-1].error is None and sampler._proc is not child


def test_the_child_reads_only_well_formed_commands() -> None:
    import multiprocessing

    from arstudio.engine.child import BadCommand, read_command

    r, w = multiprocessing.Pipe(duplex=False)
    for good in (("quit",), ("taken",), ("cancel", 3), ("load", "x.safetensors", False)):
        w.send(good)
        assert read_command(r) == good
    for bad in (["quit"], (), ("run", 1), 42):
        w.send(bad)
        with pytest.raises(BadCommand):
            read_command(r)
    w.send_bytes(b"garbage")
    with pytest.raises(Exception):
        read_command(r)
