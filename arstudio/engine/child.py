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

import queue
import threading
from multiprocessing.connection import Connection

import torch

from arstudio.core.checkpoint import CheckpointError
from arstudio.core.protocol import ARModel
from arstudio.engine.sampling import InFlight, RunControl, open_model, sample_run

STEERING = ("pause", "resume", "step", "cancel", "rate")


class _Steering:
    """The child's reader thread: steering goes straight to the runs' controls, the rest is queued."""

    def __init__(self, commands: Connection, inbox: "queue.Queue[tuple]", in_flight: InFlight) -> None:
        self.commands, self.inbox, self.in_flight = commands, inbox, in_flight
        self.lock = threading.Lock()
        self.controls: dict[int, RunControl] = {}

    def read(self) -> None:
        try:
            while True:
                msg = self.commands.recv()
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


def serve(commands: Connection, replies: Connection, threads: int, min_interval: float) -> None:
    """The child process's main: load checkpoints and sample runs until told to quit or the GUI goes."""
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


def main(argv: list[str]) -> int:
    """``python -m arstudio.engine.child CMD_FD REPLY_FD THREADS MIN_INTERVAL``: serve on inherited pipes.

    How ``ProcessSampler`` starts the child on POSIX: a fresh interpreter that imports only this
    module (``multiprocessing``'s ``spawn`` would import the studio's main module again).
    """
    cmd_fd, reply_fd, threads, min_interval = int(argv[0]), int(argv[1]), int(argv[2]), float(argv[3])
    serve(Connection(cmd_fd, writable=False), Connection(reply_fd, readable=False), threads, min_interval)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
