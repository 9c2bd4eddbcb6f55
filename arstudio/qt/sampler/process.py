"""The studio's sampler in a child process: the same signals as the in-thread worker, no shared GIL.

Why a process: a sampling thread shares the GIL with the GUI thread, and every torch op hands
the GIL over, so each millisecond the window spends in Python (painting through pyqtgraph,
handling batches) was a millisecond taken from sampling, plus the hand-over latencies; at full
speed the studio sampled ~10% slower than ``generate`` alone however little it drew. In a process
of its own (``arstudio.engine.child.serve``) the sampler only shares the CPU.

``ProcessSampler`` starts the child lazily: on POSIX a fresh interpreter running
``python -m arstudio.engine.child`` on two inherited pipes (``ChildProcess``), elsewhere
``multiprocessing``'s ``spawn`` (which imports the main module again, so a script opening the
studio there needs the ``__main__`` guard); neither forks a process that has Qt's and torch's
threads. It sends the child commands, and a reader thread turns its replies into the five signals the session
listens to. ``RemoteControl`` steers a run with the same methods as ``RunControl``. If the child
dies (killed, out of memory), the run in flight finishes with an error, and the next load or run
starts a new child that quietly reloads the last checkpoint.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from multiprocessing.connection import Connection
from typing import Any

import torch
from PySide6.QtCore import QObject, Signal

from arstudio.engine.messages import RunRequest, RunSummary
from arstudio.engine.child import serve
from arstudio.engine.sampling import MAX_UPDATES_PER_S, PackedBatch


class ChildProcess:
    """``python -m arstudio.engine.child`` on two inherited pipes (POSIX).

    It answers what the sampler asks of a ``multiprocessing.Process``: ``start``, ``is_alive``,
    ``join``, ``terminate``, ``kill``, ``exitcode`` and ``pid``.
    """

    def __init__(self, threads: int, min_interval: float) -> None:
        self.threads, self.min_interval = threads, min_interval
        self.popen: subprocess.Popen | None = None
        self.connections: tuple[Connection, Connection] | None = None  # commands (write), replies (read)

    def start(self) -> None:
        """Start the child; ``connections`` are then the GUI's ends of its pipes."""
        cmd_r, cmd_w = os.pipe()
        rep_r, rep_w = os.pipe()
        package_root = str(Path(__file__).resolve().parents[2])  # importable however the studio was started
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        try:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "arstudio.engine.child", str(cmd_r), str(rep_w), str(self.threads),
                 repr(self.min_interval)], pass_fds=(cmd_r, rep_w), env=env, stdin=subprocess.DEVNULL)
        except BaseException:
            for fd in (cmd_r, cmd_w, rep_r, rep_w):
                os.close(fd)
            raise
        os.close(cmd_r)  # the child's ends: closed here so that a dead child reads as end of file
        os.close(rep_w)
        self.connections = (Connection(cmd_w, readable=False), Connection(rep_r, writable=False))

    @property
    def pid(self) -> int | None:
        return None if self.popen is None else self.popen.pid

    @property
    def exitcode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def is_alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        if self.popen is not None:
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass

    def terminate(self) -> None:
        if self.is_alive():
            assert self.popen is not None
            self.popen.terminate()

    def kill(self) -> None:
        if self.is_alive():
            assert self.popen is not None
            self.popen.kill()


def start_child(threads: int, min_interval: float, launcher: str | None = None) -> tuple[Any, Connection, Connection]:
    """Start a sampling child; (the process, the GUI's command end, the GUI's reply end).

    ``launcher``: "exec" (a fresh interpreter on inherited pipes; POSIX only) or "spawn"
    (``multiprocessing``); by default "exec" on POSIX, else "spawn".
    """
    launcher = launcher or ("exec" if os.name == "posix" else "spawn")
    if launcher == "exec":
        child = ChildProcess(threads, min_interval)
        child.start()
        assert child.connections is not None
        return child, *child.connections
    ctx = multiprocessing.get_context("spawn")
    cmd_r, cmd_w = ctx.Pipe(duplex=False)
    rep_r, rep_w = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=serve, args=(cmd_r, rep_w, threads, min_interval), name="arstudio-sampler", daemon=True)
    try:
        proc.start()
    except BaseException:
        for c in (cmd_r, cmd_w, rep_r, rep_w):
            c.close()
        raise
    cmd_r.close()  # the child's ends: closed here so that a dead child reads as end of file
    rep_w.close()
    return proc, cmd_w, rep_r


MAX_PENDING = 256  # commands queued for a child that does not read them: then it is stuck, and is stopped


class CommandWriter:
    """Sends commands to the child from a thread of its own, so that the GUI thread never blocks on a full pipe.

    ``put`` only queues; when ``MAX_PENDING`` commands wait, the child is not reading (stuck or deaf)
    and ``on_stuck`` is called once (the sampler stops the child; the next load or run starts another).
    """

    def __init__(self, conn: Connection, on_stuck: Any) -> None:
        self.conn, self.on_stuck = conn, on_stuck
        self.queue: queue.Queue[tuple | None] = queue.Queue(maxsize=MAX_PENDING)
        self.stuck = False
        self.thread = threading.Thread(target=self._run, name="arstudio-sampler-commands-out", daemon=True)
        self.thread.start()

    def put(self, msg: tuple) -> None:
        """Queue one command (never blocks)."""
        try:
            self.queue.put_nowait(msg)
        except queue.Full:
            if not self.stuck:
                self.stuck = True
                self.on_stuck()

    def _run(self) -> None:
        try:
            while True:
                msg = self.queue.get()
                if msg is None:
                    break
                self.conn.send(msg)
                if msg[0] == "quit":
                    break
        except (OSError, ValueError):
            pass  # the child is gone: the reader reports it
        finally:
            self.conn.close()

    def close(self, quit_first: bool = True) -> None:
        """Send "quit" after what is queued (if there is room), then end the thread and close the pipe."""
        try:
            self.queue.put_nowait(("quit",) if quit_first else None)
        except queue.Full:
            pass


class RemoteControl:
    """Steers one run in the child: pause, resume, step once, speed, cancel (as ``RunControl``)."""

    def __init__(self, sampler: "ProcessSampler", run_id: int, paused: bool, rate: float | None) -> None:
        self._sampler, self.run_id = sampler, run_id
        self.rate = rate
        self._paused, self._cancelled = paused, False

    @property
    def paused(self) -> bool:
        """True after ``pause`` until ``resume``."""
        return self._paused

    @property
    def cancelled(self) -> bool:
        """True once cancelled."""
        return self._cancelled

    def pause(self) -> None:
        """Stop before the next sampled step."""
        self._paused = True
        self._sampler.command("pause", self.run_id)

    def resume(self) -> None:
        """Go on sampling."""
        self._paused = False
        self._sampler.command("resume", self.run_id)

    def step_once(self) -> None:
        """While paused, allow one more step."""
        self._sampler.command("step", self.run_id)

    def set_rate(self, rate: float | None) -> None:
        """Steps per second, or None for unlimited."""
        self.rate = rate
        self._sampler.command("rate", self.run_id, rate)

    def cancel(self) -> None:
        """Stop the run; the child then sends its summary."""
        self._cancelled = True
        self._sampler.command("cancel", self.run_id)


class ProcessSampler(QObject):
    """The session's sampler backed by a child process (see the module docstring)."""

    checkpoint_loaded = Signal(object)  # ModelInfo
    checkpoint_failed = Signal(str)
    run_started = Signal(object)  # RunInfo
    steps_sampled = Signal(object)  # StepBatch
    run_finished = Signal(object)  # RunSummary

    def __init__(self, parent: QObject | None = None, max_updates_per_s: float = MAX_UPDATES_PER_S,
                 launcher: str | None = None) -> None:
        super().__init__(parent)
        self.min_interval = 1.0 / max_updates_per_s
        self.launcher = launcher  # see ``start_child``
        self._state = threading.Lock()  # the child, its run and load in flight: read by the reader thread too
        self._proc: Any = None
        self._last: Any = None  # the last child started, still there after shutdown (see ``alive``)
        self._commands: CommandWriter | None = None
        self._reader: threading.Thread | None = None
        self._path: str | None = None  # the last checkpoint the child loaded, reloaded after a crash
        self._active: int | None = None  # the run the child is on (for a crash report)
        self._loading: str | None = None  # the checkpoint the child is loading (for a crash report)
        self._closing = False
        self._dead = False  # the reader saw the child's pipe end

    # ---- the child ---------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The child's process id, or None while there is none."""
        return None if self._proc is None else self._proc.pid

    def _ensure(self) -> bool:
        """Start the child if it is not running; False (and a message) if it cannot start."""
        with self._state:
            if self._proc is not None and self._proc.is_alive() and not self._dead:
                return True
        self._stop_child(timeout_s=0.5)
        try:
            proc, cmd_w, rep_r = start_child(torch.get_num_threads(), self.min_interval, self.launcher)
        except Exception as e:  # no processes left, no permission ...
            self.checkpoint_failed.emit(f"the sampling process could not start ({type(e).__name__}: {e})")
            return False
        writer = CommandWriter(cmd_w, proc.kill)  # a child that stops reading is killed, then restarted
        with self._state:
            self._proc, self._last, self._commands, self._dead = proc, proc, writer, False
        self._reader = threading.Thread(target=self._read, args=(rep_r, proc), name="arstudio-sampler-replies",
                                        daemon=True)
        self._reader.start()
        if self._path is not None:
            self.command("load", self._path, True)  # a new child after a crash: the model it had
        return True

    def _read(self, replies: Connection, proc: Any) -> None:
        """The reader thread: replies -> signals (queued to the GUI thread), until the child's pipe ends."""
        why = "stopped unexpectedly"
        try:
            while True:
                try:
                    reply = replies.recv()
                except (EOFError, OSError):
                    break
                except Exception as e:  # a reply that does not unpickle: report it, never take the studio down
                    why = f"sent an unreadable reply ({type(e).__name__}: {e})"
                    proc.terminate()
                    break
                self._deliver(*reply)
        except RuntimeError:  # this object was deleted under the reader: the studio is closing
            return
        finally:
            replies.close()
        with self._state:
            if self._closing or proc is not self._proc:
                return
            self._dead = True
            active, self._active = self._active, None
            loading, self._loading = self._loading, None
        proc.join(1.0)
        code = proc.exitcode
        try:
            if loading is not None:
                self.checkpoint_failed.emit(f"{loading}: the sampling process {why} while loading it (exit code {code})")
            if active is not None:
                self.run_finished.emit(RunSummary(active, 0, 0.0, error=f"the sampling process {why} (exit code "
                                                                         f"{code}); press Play to start again"))
        except RuntimeError:
            pass

    def _deliver(self, kind: str, payload: Any, quiet: bool = False) -> None:
        """One reply from the child, as the matching signal (quiet loads, after a restart, stay unsaid)."""
        if kind == "message":
            if isinstance(payload, PackedBatch):
                self.steps_sampled.emit(payload.unpack())
            elif isinstance(payload, RunSummary):
                with self._state:
                    if self._active == payload.run_id:
                        self._active = None
                self.run_finished.emit(payload)
            else:
                self.run_started.emit(payload)
        elif kind == "loaded":
            self._path = str(payload.path)
            if not quiet:
                with self._state:
                    self._loading = None
                self.checkpoint_loaded.emit(payload)
        elif kind == "failed" and not quiet:
            with self._state:
                self._loading = None
            self.checkpoint_failed.emit(payload)

    def _stop_child(self, timeout_s: float) -> bool:
        with self._state:
            proc, self._proc = self._proc, None
            commands, self._commands = self._commands, None
        if commands is not None:
            commands.close()  # "quit" after whatever is queued
        if proc is None:
            return True
        proc.join(timeout_s)
        if proc.is_alive():  # still mid-step (or stuck): a process, unlike a thread, can be stopped there
            proc.terminate()
            proc.join(1.0)
        if proc.is_alive():  # deaf to SIGTERM (stopped, or blocked in native code)
            proc.kill()
            proc.join(1.0)
        if commands is not None:
            commands.thread.join(1.0)  # it ends once the child is gone, even if it was blocked on a full pipe
        return not proc.is_alive()

    def command(self, *msg: object) -> None:
        """Queue one command for the child; never blocks (nothing happens if it is gone: the reader reports that)."""
        commands = self._commands
        if commands is not None:
            commands.put(msg)

    # ---- the session's interface ---------------------------------------------------------------
    def alive(self) -> bool:
        """True while a child process of this sampler runs."""
        return self._last is not None and self._last.is_alive()

    def load(self, path: str) -> None:
        """Load ``path`` in the child; ``checkpoint_loaded`` or ``checkpoint_failed`` follows."""
        if self._ensure():
            with self._state:
                self._loading = str(path)
            self.command("load", str(path), False)

    def new_control(self, run_id: int, paused: bool, rate: float | None) -> RemoteControl:
        """Flags for run ``run_id``."""
        return RemoteControl(self, run_id, paused, rate)

    def run(self, request: RunRequest, control: RemoteControl) -> None:
        """Start ``request`` in the child (after whatever it is doing now)."""
        if not self._ensure():
            self.run_finished.emit(RunSummary(request.run_id, 0, 0.0, error="the sampling process could not start"))
            return
        with self._state:
            self._active = request.run_id
        self.command("run", request, control.paused, control.rate)
        if control.cancelled:  # cancelled before it was sent: tell the child now that it knows the run
            control.cancel()

    def batch_taken(self) -> None:
        """The GUI took one batch: the child may send the next."""
        self.command("taken")

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the child (its run is cancelled) and the reader; True when both stopped in time."""
        with self._state:
            self._closing = True
        stopped = self._stop_child(timeout_ms / 1000.0)
        if self._reader is not None:
            self._reader.join(timeout_ms / 1000.0)
            stopped = stopped and not self._reader.is_alive()
        return stopped
