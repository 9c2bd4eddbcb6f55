"""The child side of the studio's sampling process: no Qt here, only the model and the loop.

``serve`` runs in a process of its own (started by ``arstudio.qt.sampler.process``), so that
sampling never shares a GIL with the window: drawing, however much of it, takes nothing from the
sampler but the CPU time of the GUI thread itself. It reads commands from one pipe and writes
replies to another.

Commands (GUI -> child), tuples: ``("load", path, quiet)``, ``("run", RunRequest, paused, rate)``,
``("pause"|"resume"|"step"|"cancel", run_id)``, ``("rate", run_id, rate)``, ``("taken",)`` (the GUI
took a batch) and ``("quit",)``. A reader thread applies the steering commands at once to the
run's ``RunControl``; loads and runs execute in order in the child's main thread.

Replies (child -> GUI), tuples: ``("loaded", ModelInfo, quiet)``, ``("failed", message, quiet)``
and ``("message", RunInfo | PackedBatch | RunSummary)``; batches travel packed (a few arrays,
cheap to pickle) and are unpacked in the GUI process.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler

import torch

from arstudio.core.checkpoint import CheckpointError
from arstudio.core.protocol import ARModel
from arstudio.engine.sampling import InFlight, RunControl, open_model, sample_run

STEERING = ("pause", "resume", "step", "cancel", "rate")
ARITY = {"load": 3, "run": 4, "pause": 2, "resume": 2, "step": 2, "cancel": 2, "rate": 3, "taken": 1, "quit": 1}
MAX_COMMAND_BYTES = 64 << 20  # a run request with its prefix is far smaller; garbage may claim gigabytes
QUIT_GRACE_S = 5.0


class BadCommand(ValueError):
    """Bytes on the command pipe that are not a command of ours."""


def read_command(commands: Connection) -> tuple:
    """The next command: a tuple whose first item names a known operation, with that operation's arity.

    Raises EOFError when the GUI's end closed, ``BadCommand`` (or the unpickler's error) for garbage;
    a length prefix past ``MAX_COMMAND_BYTES`` is refused before anything is read.
    """
    try:
        raw = commands.recv_bytes(MAX_COMMAND_BYTES)
    except OSError as e:
        if "bad message length" in str(e):
            raise BadCommand("a command claims more bytes than any command has") from None
        raise
    try:
        msg = ForkingPickler.loads(raw)
    except Exception as e:  # EOFError for an empty message too: that is garbage, not the GUI going away
        raise BadCommand(f"not a pickled command ({type(e).__name__})") from None
    if not isinstance(msg, tuple) or not msg or msg[0] not in ARITY or len(msg) != ARITY[msg[0]]:
        raise BadCommand(f"not a command: {str(msg)[:80]!r}")
    return msg


class _Steering:
    """The child's reader thread: steering goes straight to the runs' controls, the rest is queued."""

    def __init__(self, commands: Connection, inbox: "queue.Queue[tuple]", in_flight: InFlight) -> None:
        self.commands, self.inbox, self.in_flight = commands, inbox, in_flight
        self.lock = threading.Lock()
        self.controls: dict[int, RunControl] = {}
        self.broken = False  # a command could not be read: the child exits with status 3

    def read(self) -> None:
        """Apply commands until "quit", the GUI's end closing, or a command that cannot be read.

        Any failure to read or apply a command ends the child (the studio then restarts it, as after
        a crash): a child that went on without its reader would be alive but deaf.
        """
        try:
            while True:
                msg = read_command(self.commands)
                op = msg[0]
                if op == "run":
                    _, request, paused, rate = msg
                    control = RunControl(paused=paused, rate=rate)
                    with self.lock:
                        self.controls[request.run_id] = control
                    self.inbox.put(("run", request, control))
                elif op in STEERING:
                    with self.lock:
                        control = self.controls.get(msg[1])
                    if control is not None:
                        self._steer(control, op, msg)
                elif op == "taken":
                    self.in_flight.taken()
                elif op == "quit":
                    break
                else:
                    self.inbox.put(msg)
        except (EOFError, OSError):
            pass  # the GUI went away: stop as if told to quit
        except Exception as e:  # garbage on the pipe, a malformed command: end this child
            print(f"arstudio sampler: unreadable command ({type(e).__name__}: {str(e)[:200]}); stopping",
                  file=sys.stderr, flush=True)
            self.broken = True
            threading.Timer(QUIT_GRACE_S, os._exit, args=(3,)).start()  # if the main thread cannot stop in time
        with self.lock:
            for control in self.controls.values():
                control.cancel()
        self.inbox.put(("quit",))

    @staticmethod
    def _steer(control: RunControl, op: str, msg: tuple) -> None:
        if op == "pause":
            control.pause()
        elif op == "resume":
            control.resume()
        elif op == "step":
            control.step_once()
        elif op == "cancel":
            control.cancel()
        else:
            control.set_rate(msg[2])

    def done(self, run_id: int) -> None:
        with self.lock:
            self.controls.pop(run_id, None)


def serve(commands: Connection, replies: Connection, threads: int, min_interval: float) -> int:
    """The child process's main: load checkpoints and sample runs until told to quit or the GUI goes.

    Returns the exit status: 0, or 3 after a command that could not be read.
    """
    torch.set_num_threads(max(1, threads))
    inbox: queue.Queue[tuple] = queue.Queue()
    in_flight = InFlight()
    steering = _Steering(commands, inbox, in_flight)
    threading.Thread(target=steering.read, name="arstudio-sampler-commands", daemon=True).start()

    def send(message: object) -> None:
        replies.send(("message", message))

    model: ARModel | None = None
    try:
        while True:
            msg = inbox.get()
            if msg[0] == "quit":
                break
            if msg[0] == "load":
                _, path, quiet = msg
                try:
                    model, info = open_model(path)
                except CheckpointError as e:
                    replies.send(("failed", str(e), quiet))
                    continue
                replies.send(("loaded", info, quiet))
            elif msg[0] == "run":
                _, request, control = msg
                sample_run(model, request, control, send, in_flight, min_interval)
                steering.done(request.run_id)
    except (BrokenPipeError, EOFError, OSError):
        pass  # the GUI is gone: nothing left to tell
    finally:
        replies.close()
    return 3 if steering.broken else 0


def main(argv: list[str]) -> int:
    """``python -m arstudio.engine.child CMD_FD REPLY_FD THREADS MIN_INTERVAL``: serve on inherited pipes.

    How ``ProcessSampler`` starts the child on POSIX: a fresh interpreter that imports only this
    module (``multiprocessing``'s ``spawn`` would import the studio's main module again).
    """
    cmd_fd, reply_fd, threads, min_interval = int(argv[0]), int(argv[1]), int(argv[2]), float(argv[3])
    return serve(Connection(cmd_fd, writable=False), Connection(reply_fd, readable=False), threads, min_interval)


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
