"""How the sampling loop hands its steps to the GUI: compact batches, a few a second at most.

``Emitter`` collects the steps of a run and sends them as ``PackedBatch``es (one array per field,
each step's distribution already compact: ``DistFormat``), at most every ``min_interval`` seconds
and never more than ``MAX_IN_FLIGHT`` ahead of the GUI (``InFlight``). Steps that carry their
``Dist`` (``generate(keep_dists=True)``) get their views drawn many at a time (``Dist.stack``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from arstudio.core.dists import Dist, DistView
from arstudio.core.generate import Step
from arstudio.engine.messages import DistFormat, StepBatch, StepDists, top_entries

FREE_UPDATES_PER_S = 20.0  # unlimited speed: the window draws a few frames a second (qt/presenter.py's RunPresenter)
PENDING_MAX = 256  # steps an Emitter keeps as they came before compacting them in bulk
MAX_IN_FLIGHT = 2  # batches sent but not yet taken by the GUI; beyond that the loop keeps accumulating

Send = Callable[[object], None]  # takes a RunInfo, PackedBatch or RunSummary


class InFlight:
    """How many sent batches the GUI has not taken yet (thread-safe): the loop's back-pressure."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0

    def sent(self) -> None:
        """One more batch went out."""
        with self._lock:
            self._n += 1

    def taken(self) -> None:
        """The GUI took one batch."""
        with self._lock:
            self._n = max(0, self._n - 1)

    @property
    def count(self) -> int:
        """Batches sent and not yet taken."""
        with self._lock:
            return self._n


@dataclass
class PackedBatch:
    """A batch of steps as the loop collects it: one array per field, the distributions compact.

    ``dists`` holds, per step and sample, the top ``TOP_K`` entries and the rest mass (or a small
    density curve), never a whole large support: a batch pickles in ~0.1 ms, and neither the pipe
    nor the GUI's record carries 256 levels (or a vocabulary) per step.
    """

    run_id: int
    t: np.ndarray  # [n]
    index: np.ndarray  # [n]
    values: np.ndarray  # [n, B]
    log_prob: np.ndarray  # [n, B]
    forced: np.ndarray  # [n] bool
    steps_per_s: float
    dists: StepDists | None  # None when the loop made no views

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def unpack(self) -> StepBatch:
        """The ``StepBatch`` the GUI works with (the same arrays)."""
        return StepBatch(self.run_id, self.t, self.index, self.values, self.log_prob, self.forced, self.dists,
                         self.steps_per_s)


class Emitter:
    """Collects steps and sends them as one ``PackedBatch`` at most every ``min_interval`` seconds.

    A step is only appended to a short list as it comes; every ``PENDING_MAX`` steps, and before a
    batch goes out, the list is compacted in bulk into preallocated arrays (values, log p, the
    distributions already compact: ``DistFormat``, the top entries of a large support found for all
    those steps in one pass). The loop thus spends next to nothing per step on recording, keeps at
    most ``PENDING_MAX`` whole steps (bounded memory however long the GUI is behind), and a batch
    needs no stacking when it goes out. A step whose distribution has another format than the
    batch's (never seen with one model) sends the batch so far first.
    """

    def __init__(self, send: Send, run_id: int, in_flight: InFlight, min_interval: float,
                 order: np.ndarray | None = None) -> None:
        self.send = send
        self.run_id = run_id
        self.order = order  # step -> flat index (the layout's), so that steps need not carry it
        self.in_flight = in_flight
        self.min_interval = min_interval
        self.last_emit = time.monotonic()
        self.sent = 0  # batches sent so far
        self.pending: list[Step] = []  # steps as they came, not yet compacted
        self.n = 0  # compacted steps of the batch
        self.cap = 0
        self._next_cap = 64  # the last batch's capacity: the next one starts as large
        self.format: DistFormat | None = None
        self.top: np.ndarray | None = None
        self.rest: np.ndarray | None = None

    def _grow(self, step: Step, need: int, view: DistView | None) -> None:
        """Room for ``need`` steps: the first step sets the shapes and the format, a full buffer doubles."""
        cap = max(self._next_cap, 2 * self.cap, need)
        if self.cap == 0:
            fmt = self.format = None if view is None else DistFormat(view)
            self.top = self.rest = None
            self.t0 = step.t  # a batch holds consecutive steps t0, t0 + 1, ...
            self.forced_at: list[int] = []
            self.index = None if self.order is not None else np.empty(cap, np.int64)
            self.values = np.empty((cap, *np.shape(step.value)), np.asarray(step.value).dtype)
            self.log_prob = np.empty((cap, *np.shape(step.log_prob)), np.asarray(step.log_prob).dtype)
            if fmt is not None:
                self.probs = np.empty((cap, fmt.batch, fmt.width), np.float32)
                self.entropy = np.empty((cap, fmt.batch), np.float32)
                self.top = np.empty((cap, fmt.batch, fmt.width), fmt.top_dtype) if fmt.cut else None
                self.rest = np.empty((cap, fmt.batch), np.float32) if fmt.cut else None
        else:
            n = self.n
            names = ["values", "log_prob"] + ([] if self.index is None else ["index"])
            if self.format is not None:
                names += ["probs", "entropy"] + (["top", "rest"] if self.format.cut else [])
            for name in names:
                old = getattr(self, name)
                new = np.empty((cap, *old.shape[1:]), old.dtype)
                new[:n] = old[:n]
                setattr(self, name, new)
        self.cap = cap

    def add(self, step: Step, free: bool = False) -> None:
        """Keep ``step``; send the pending ones if the last batch is old enough.

        ``free``: the run samples at unlimited speed; batches then go out at most
        ``FREE_UPDATES_PER_S`` times a second (the window draws a few frames a second at that speed).
        """
        pending = self.pending
        pending.append(step)
        if len(pending) >= PENDING_MAX:
            self._compact()
        interval = max(self.min_interval, 1.0 / FREE_UPDATES_PER_S) if free else self.min_interval
        if time.monotonic() - self.last_emit >= interval:
            self.flush(interval=interval)

    def _same_format(self, view: DistView | None) -> bool:
        fmt = self.format
        if fmt is None:
            return view is None
        if view is None:
            return False
        if view.support is fmt.source and view.labels is fmt.labels and view.kind == fmt.kind:
            return view.probs.shape == (fmt.batch, fmt.size)  # the common case: the same objects
        return fmt.matches(view)

    def _compact(self) -> None:
        """Move the pending steps into the batch's arrays, in runs of one format (cut where it changes)."""
        pending, self.pending = self.pending, []
        for run, head, probs, entropy in _segments(pending):
            if self.n and not self._same_format(head):
                self._send(time.monotonic())  # another format: the batch so far goes out as it is
            self._write(run, head, probs, entropy)

    def _write(self, run: list[Step], head: DistView | None, probs: np.ndarray | None,
               entropy: np.ndarray | None) -> None:
        """Write steps of one format after the ``n`` already there: probs [m, B, K], entropy [m, B]."""
        n, m = self.n, len(run)
        if n + m > self.cap:
            self._grow(run[0], n + m, head)
        for k, s in enumerate(run):
            if s.forced:
                self.forced_at.append(n + k)
        if self.index is not None:
            self.index[n:n + m] = [s.index for s in run]
        self.values[n:n + m] = np.stack([s.value for s in run])
        self.log_prob[n:n + m] = np.stack([s.log_prob for s in run])
        fmt = self.format
        if fmt is not None:
            assert probs is not None and entropy is not None
            self.entropy[n:n + m] = entropy
            if fmt.grid is not None:
                self.probs[n:n + m] = probs[:, :, fmt.grid]
            elif not fmt.cut:
                self.probs[n:n + m] = probs
            else:
                assert self.top is not None and self.rest is not None
                top, p, rest = top_entries(probs.reshape(m * fmt.batch, fmt.size), fmt.width)
                self.top[n:n + m] = top.reshape(m, fmt.batch, fmt.width)
                self.probs[n:n + m] = p.reshape(m, fmt.batch, fmt.width)
                self.rest[n:n + m] = rest.reshape(m, fmt.batch)
        self.n = n + m

    def flush(self, force: bool = False, interval: float | None = None) -> None:
        """Send the pending steps (unless too soon, or the GUI is behind, and not ``force``)."""
        if self.n == 0 and not self.pending:
            return
        now = time.monotonic()
        interval = self.min_interval if interval is None else interval
        if not force and (now - self.last_emit < interval or self.in_flight.count >= MAX_IN_FLIGHT):
            return
        self._compact()
        self._send(now)

    def _send(self, now: float) -> None:
        """Send the compacted steps as one ``PackedBatch`` and start a fresh one."""
        n = self.n
        if n == 0:
            return
        elapsed = now - self.last_emit
        t = np.arange(self.t0, self.t0 + n, dtype=np.int64)
        forced = np.zeros(n, dtype=bool)
        forced[self.forced_at] = True
        index = self.order[t] if self.index is None else self.index[:n]
        # A rate from the second batch on: the first one's time is the run's start-up (a paced run
        # sends its first step at once), which read as hundreds of steps a second.
        rate = n / elapsed if elapsed > 0 and self.sent else 0.0
        fmt = self.format
        dists = None if fmt is None else fmt.dists(self.probs[:n], self.entropy[:n],
                                                   None if self.top is None else self.top[:n],
                                                   None if self.rest is None else self.rest[:n])
        batch = PackedBatch(self.run_id, t, index, self.values[:n], self.log_prob[:n], forced, rate, dists)
        cap = self.cap
        self.n = self.cap = 0  # fresh arrays for the next batch (this one's are sent as they are)
        self.last_emit = now
        self.in_flight.sent()
        self.sent += 1
        self.send(batch)
        self._next_cap = cap


Segment = tuple[list[Step], "DistView | None", "np.ndarray | None", "np.ndarray | None"]


def _segments(steps: list[Step]) -> Iterator[Segment]:
    """Runs of consecutive steps of one distribution format: (steps, the first one's view, probs [m, B, K], entropy [m, B]).

    Steps that carry their ``Dist`` (``generate(keep_dists=True)``) get their views drawn in one
    pass per run (``Dist.stack``); steps with a view already are stacked as they are.
    """
    i = 0
    while i < len(steps):
        first = steps[i]
        j = i + 1
        if first.view is None and first.dist is not None:
            kind, shape, settings = type(first.dist), first.dist.batch_shape, first.dist.settings()
            while (j < len(steps) and steps[j].view is None and type(d := steps[j].dist) is kind
                   and d.batch_shape == shape and d.settings() == settings):
                j += 1
            try:
                v = Dist.stack([s.dist for s in steps[i:j]]).view()  # type: ignore[misc]
            except RuntimeError:  # tensors of other shapes after all: one step at a time
                j = i + 1
                v = first.dist.view()
            m = j - i
            probs, entropy = v.probs.reshape(m, -1, v.probs.shape[-1]), v.entropy.reshape(m, -1)
            head = DistView(v.kind, v.support, probs[0], entropy[0], v.labels, v.rest, v.total)
            yield steps[i:j], head, probs, entropy
        elif first.view is None:
            while j < len(steps) and steps[j].view is None and steps[j].dist is None:
                j += 1
            yield steps[i:j], None, None, None
        else:
            v = first.view
            while j < len(steps) and (w := steps[j].view) is not None and w.kind == v.kind \
                    and w.probs.shape == v.probs.shape and (w.support is v.support or np.array_equal(w.support, v.support)) \
                    and (w.labels is v.labels or w.labels == v.labels):
                j += 1
            run = steps[i:j]
            yield run, v, np.stack([s.view.probs for s in run]), np.stack([s.view.entropy for s in run])  # type: ignore[union-attr]
        i = j
