"""One worker thread per component for its background jobs: newest request wins, stale results dropped.

Training, analysis, scoring, comparison and file loading all need the same thing: run a function
off the GUI thread, hand its result back to the GUI thread, forget results that a newer request
made stale, and stop cleanly when the window closes. ``JobRunner`` is that, once:

    jobs = JobRunner("arstudio-text-analysis", parent=panel)
    jobs.finished.connect(on_result)            # (job id, what the function returned)
    jobs.failed.connect(on_error)               # (job id, "ValueError: the one line")
    jobs.submit_to("beam", beam_search, ...)    # queued; supersedes an earlier "beam" job
    jobs.shutdown()                             # from the owner's close: cancel, stop, join

- One long-lived ``QThread`` runs the jobs one at a time, in the order submitted, so a job may use
  state the runner's earlier jobs built (a model copy) without locks.
- Jobs belong to a *lane* (``submit`` uses the default lane ""). Submitting a job makes every
  earlier job of its lane stale: a queued one is dropped unrun, a running one's result and
  progress are dropped, and a running generator job is closed at its next ``yield``. Lanes do
  not affect each other. ``cancel()`` makes everything submitted so far stale.
- A job that returns a generator is iterated: each yielded value arrives as ``progressed`` and
  the generator's return value as ``finished``. A plain function that cannot yield (a callback
  inside a training loop) calls ``report(value)`` instead, and may poll ``cancelled()``.
- Only the newest job of each lane is ever delivered, and only while the runner lives: the GUI
  thread checks again when the signal arrives, so a result overtaken on its way is dropped too.
- Jobs run with the cyclic GC held off (``arstudio.qt.gc_guard``), as every worker thread must;
  the job thread never drops the last reference to a job's function or arguments (the GUI thread
  releases them), so a job may be a method of a QObject that lives in the GUI thread.
- ``shutdown(timeout_ms)`` cancels, stops the thread and waits for it; it is safe to call twice
  and is called anyway if the runner is destroyed first (its owner deleted). A thread that does
  not stop in time is kept referenced until it ends (also at interpreter exit), so a running
  ``QThread`` is never destroyed.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot

from arstudio.qt.gc_guard import no_cyclic_gc

__all__ = ["JobRunner", "one_line"]

log = logging.getLogger(__name__)

_FINISHED, _FAILED, _DROPPED = "finished", "failed", "dropped"
_LIVE: set["_JobThread"] = set()  # every job thread not known to have ended: never destroyed while running
EXIT_WAIT_MS = 10_000  # at interpreter exit, how long to wait for each thread still running


def one_line(e: BaseException) -> str:
    """``"ValueError: the first line of its message"`` (the type alone when the message is empty)."""
    text = str(e).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


@dataclass(eq=False)
class _Job:
    """One submitted call; ``id`` grows with every submission of its runner."""

    id: int
    lane: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kw: dict[str, Any] = field(default_factory=dict)


class _Queue:
    """What the GUI side and the job thread share: the waiting jobs, the newest id of each lane, the stop flag."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.waiting: deque[_Job] = deque()
        self.newest: dict[str, int] = {}
        self.floor = 0  # jobs with an id up to this one were cancelled
        self.stopping = False
        self.current: _Job | None = None  # the job running now (set by the job thread)
        self.ident: int | None = None  # the job thread's threading ident
        self.done: list[_Job] = []  # jobs run or skipped by the thread, for the GUI thread to release

    def release_done(self) -> None:
        """Drop the jobs the thread is through with (GUI thread: their functions and arguments go here)."""
        with self.cond:
            done, self.done = self.done, []
        del done

    def stale(self, job: _Job) -> bool:
        with self.cond:
            return self.stopping or job.id <= self.floor or self.newest.get(job.lane) != job.id

    def put(self, job: _Job) -> list[_Job]:
        """Queue ``job``; returns the waiting jobs of its lane it made stale (to be released by the caller)."""
        with self.cond:
            self.newest[job.lane] = job.id
            dropped = [j for j in self.waiting if j.lane == job.lane]
            self.waiting = deque(j for j in self.waiting if j.lane != job.lane)
            if not self.stopping:
                self.waiting.append(job)
                self.cond.notify()
            return dropped

    def cancel(self, upto: int, lane: str | None) -> list[_Job]:
        with self.cond:
            if lane is None:
                self.floor = max(self.floor, upto)
                dropped, self.waiting = list(self.waiting), deque()
            else:
                self.newest.pop(lane, None)
                dropped = [j for j in self.waiting if j.lane == lane]
                self.waiting = deque(j for j in self.waiting if j.lane != lane)
            return dropped

    def stop(self) -> list[_Job]:
        with self.cond:
            self.stopping = True
            dropped, self.waiting = list(self.waiting), deque()
            self.cond.notify_all()
            return dropped

    def take(self) -> _Job | None:
        """The next job to run (None: stop); blocks while there is none."""
        with self.cond:
            while not self.waiting and not self.stopping:
                self.cond.wait()
            return None if self.stopping else self.waiting.popleft()


class _Dropped(Exception):
    """A generator job went stale: it was closed and its result is not wanted."""


class _JobThread(QThread):
    """Runs the queue's jobs one at a time; its signals are queued to the runner in the GUI thread."""

    ended = Signal(object, str, object)  # _Job, outcome, value (result, message or None)
    yielded = Signal(object, object)  # _Job, a progress value

    def __init__(self, queue: _Queue) -> None:
        super().__init__()
        self.queue = queue

    def run(self) -> None:  # noqa: D102 (QThread's entry point)
        self.queue.ident = threading.get_ident()
        while (job := self.queue.take()) is not None:
            with no_cyclic_gc():  # no collection in this thread (see arstudio.qt.gc_guard)
                try:
                    self._execute(job)
                finally:
                    with self.queue.cond:
                        self.queue.done.append(job)  # released by the GUI thread, never here

    def _execute(self, job: _Job) -> None:
        q = self.queue
        if q.stale(job):
            self.ended.emit(job, _DROPPED, None)
            return
        q.current = job
        try:
            out = job.fn(*job.args, **job.kw)
            if inspect.isgenerator(out):
                out = self._drive(job, out)
            self.ended.emit(job, _FINISHED, out)
        except _Dropped:
            self.ended.emit(job, _DROPPED, None)
        except Exception as e:  # a message for the GUI, never an exception in Qt's event loop
            log.debug("job %s of lane %r failed", job.id, job.lane, exc_info=True)
            self.ended.emit(job, _FAILED, one_line(e))
        finally:
            q.current = None

    def _drive(self, job: _Job, gen: Any) -> Any:
        while True:
            if self.queue.stale(job):
                gen.close()  # runs the generator's finally blocks
                raise _Dropped
            try:
                value = next(gen)
            except StopIteration as stop:
                return stop.value
            self.yielded.emit(job, value)


def _stop_and_join(thread: _JobThread, queue: _Queue, timeout_ms: int) -> bool:
    """Stop ``thread`` after its current job and wait for it; True when it ended in time."""
    queue.stop()
    if not shiboken6.isValid(thread):  # deleted by PySide's teardown: it had ended (a running one aborts)
        _LIVE.discard(thread)
        return True
    ended = bool(thread.wait(timeout_ms)) if thread.isRunning() else True
    queue.release_done()
    if ended:
        _LIVE.discard(thread)
    return ended


def _reap() -> None:
    """Forget job threads that have ended (called from the GUI thread)."""
    for t in [t for t in _LIVE if not shiboken6.isValid(t) or t.isFinished()]:
        _LIVE.discard(t)


@atexit.register
def _join_all_at_exit() -> None:
    for t in list(_LIVE):
        _stop_and_join(t, t.queue, EXIT_WAIT_MS)


class JobRunner(QObject):
    """Runs submitted functions in one worker thread of its own; delivers only the newest job's results.

    Create, submit, cancel and shut it down from the GUI thread; ``report`` and ``cancelled`` are
    for the job that is running, from its thread.
    """

    finished = Signal(int, object)  # job id, what the job returned (a generator job: its return value)
    failed = Signal(int, str)  # job id, one line ("ValueError: ...")
    progressed = Signal(int, object)  # job id, a value the job yielded or reported

    def __init__(self, name: str = "arstudio-jobs", parent: QObject | None = None, stop_ms: int = 5000) -> None:
        super().__init__(parent)
        _reap()
        self._queue = _Queue()
        self._last_id = 0
        self._shut = False
        self._thread = _JobThread(self._queue)  # no Qt parent: kept in _LIVE, so never destroyed running
        self._thread.setObjectName(name)
        self._thread.ended.connect(self._on_ended)
        self._thread.yielded.connect(self._on_yielded)
        _LIVE.add(self._thread)
        # Destroyed with its owner before shutdown(): stop and join the thread all the same. A plain
        # function, not a method: this object's Python side may be gone by then.
        self.destroyed.connect(partial(_stop_and_join, self._thread, self._queue, stop_ms))
        self._thread.start()

    @property
    def worker_thread(self) -> QThread:
        """The worker thread the jobs run in."""
        return self._thread

    # ---- the GUI thread's side ------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> int:
        """Run ``fn(*args, **kw)`` in the worker thread, in the default lane; returns the job id."""
        return self.submit_to("", fn, *args, **kw)

    def submit_to(self, lane: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> int:
        """Run ``fn(*args, **kw)`` in the worker thread; it supersedes every earlier job of ``lane``.

        After ``shutdown`` the job is accepted and dropped (its id is returned all the same).
        """
        self._last_id += 1
        stale = self._queue.put(_Job(self._last_id, lane, fn, args, kw))
        del stale  # released here, in the GUI thread
        return self._last_id

    def newest(self, lane: str = "") -> int:
        """The id of the newest job submitted to ``lane`` (0 when none, or cancelled)."""
        with self._queue.cond:
            newest = self._queue.newest.get(lane, 0)
            return newest if newest > self._queue.floor and not self._queue.stopping else 0

    def busy(self) -> bool:
        """True while a job runs or waits."""
        with self._queue.cond:
            return self._queue.current is not None or bool(self._queue.waiting)

    def cancel(self, lane: str | None = None) -> None:
        """Make every job submitted so far (or so far to ``lane``) stale: unrun, undelivered, generators closed."""
        self._queue.cancel(self._last_id, lane)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything, stop the thread after its current job and wait for it; True when it stopped.

        Safe to call twice. A thread that does not stop in time is kept (never destroyed running);
        a long job should poll ``cancelled()`` or its own stop flag to end early.
        """
        self._shut = True
        self.cancel()
        stopped = _stop_and_join(self._thread, self._queue, timeout_ms)
        _reap()
        return stopped

    def is_running(self) -> bool:
        """True until the worker thread has ended."""
        return bool(self._thread.isRunning())

    # ---- the running job's side -----------------------------------------------------------------
    def report(self, value: Any) -> None:
        """Send ``value`` as the running job's progress (call it from inside the job)."""
        job = self._queue.current
        if job is None or threading.get_ident() != self._queue.ident:
            raise RuntimeError("JobRunner.report is for the job that is running, from its thread")
        self._thread.yielded.emit(job, value)

    def cancelled(self) -> bool:
        """True when the running job went stale (superseded, cancelled, shutting down): it may stop early."""
        job = self._queue.current
        return job is None or self._queue.stale(job)

    # ---- back in the GUI thread -----------------------------------------------------------------
    def _current(self, job: _Job) -> bool:
        return not self._shut and not self._queue.stale(job)

    @Slot(object, str, object)
    def _on_ended(self, job: _Job, outcome: str, value: Any) -> None:
        self._queue.release_done()
        if outcome == _DROPPED or not self._current(job):
            return
        if outcome == _FAILED:
            self.failed.emit(job.id, str(value))
        else:
            self.finished.emit(job.id, value)

    @Slot(object, object)
    def _on_yielded(self, job: _Job, value: Any) -> None:
        if self._current(job):
            self.progressed.emit(job.id, value)
