"""The image panel's branches: the runs it has shown, what each kept of the run before it, and what was forced.

Forcing a value (a click in the distribution view) or "complete from here" starts a run that keeps
a prefix of the run shown before it: a branch of that run. ``BranchHistory`` keeps each run's
record, so that "Back" can return to an earlier one, and works out once, from the run's request
and its parent's record, which places were kept and which value was forced on which sample. No Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from arstudio.engine.record import RunRecord

MAX_BRANCHES = 40
MAX_BYTES = 400 * 2**20  # the records of older branches are let go beyond this


@dataclass
class Branch:
    """One run of the history and how it came about."""

    id: int
    parent: int | None
    record: RunRecord  # its newest run: the one that made it, or the one that took it up again after "Back"
    kept: np.ndarray  # [T, B] bool in step order: values taken over from the parent (or given) unchanged
    forced: np.ndarray  # [T, B] bool: values the user chose
    label: str
    previous: RunRecord | None = None  # the run before ``record``, drawn until ``record`` has caught up

    def shown_record(self) -> RunRecord:
        """What to draw: the newest run once it has as many steps as the one before it."""
        if self.previous is not None and self.record.filled >= self.previous.filled:
            self.previous = None
        return self.previous if self.previous is not None else self.record

    def nbytes(self) -> int:
        """Bytes its records hold."""
        return self.record.nbytes() + (self.previous.nbytes() if self.previous is not None else 0)

    def marked(self) -> bool:
        """True when the branch kept or forced anything."""
        return bool(self.kept.any() or self.forced.any())

    def forced_places(self) -> list[tuple[int, int]]:
        """(step, sample) of every forced value."""
        return [(int(t), int(b)) for t, b in zip(*np.nonzero(self.forced))]


def run_marks(record: RunRecord, parent: RunRecord | None, given: bool = False,
              hint_sample: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Which (step, sample) values of ``record``'s run were kept unchanged, and which were forced: [T, B] bool each.

    The request's prefix is kept. A forced step's value is forced in the samples where it differs from
    ``parent``'s value there (where none differ, in ``hint_sample``, the one the user was looking at);
    without a parent, in every sample. ``given``: the run completes an image, whose values are all kept.
    """
    req = record.info.request
    t_len, b_len = record.length, record.batch
    kept = np.zeros((t_len, b_len), dtype=bool)
    forced = np.zeros((t_len, b_len), dtype=bool)
    kept[: min(req.prefix_len, t_len)] = True
    for t, value in req.forced.items():
        if not 0 <= t < t_len:
            continue
        if given:
            kept[t] = True
            continue
        v = np.asarray(value, dtype=np.float64).reshape(-1)
        v = np.resize(v, b_len) if v.size not in (1, b_len) else np.broadcast_to(v, (b_len,))  # (a mismatch: a bad run)
        if parent is not None and parent.batch == b_len and t < parent.filled:
            changed = v != parent.values[t]
            if not changed.any() and 0 <= hint_sample < b_len:
                changed[hint_sample] = True
        else:
            changed = np.ones(b_len, dtype=bool)
        forced[t], kept[t] = changed, ~changed
    return kept, forced


class BranchHistory:
    """The branches in the order they were made, and the one shown."""

    def __init__(self) -> None:
        self.branches: dict[int, Branch] = {}
        self.shown: int | None = None
        self._next = 0

    def clear(self) -> None:
        """Forget every branch (another model)."""
        self.branches, self.shown, self._next = {}, None, 0

    def current(self) -> Branch | None:
        """The branch shown, or None."""
        return self.branches.get(self.shown) if self.shown is not None else None

    def add(self, record: RunRecord, parent: int | None, kept: np.ndarray, forced: np.ndarray, label: str) -> Branch:
        """A new branch for ``record``'s run, shown from now on."""
        b = Branch(self._next, parent if parent in self.branches else None, record, kept, forced, label)
        self._next += 1
        self.branches[b.id] = b
        self.shown = b.id
        self._trim()
        return b

    def replace(self, branch: Branch, record: RunRecord, label: str) -> None:
        """``record`` restarts ``branch``'s run from scratch (new settings before it finished): nothing kept."""
        branch.record, branch.previous = record, None
        shape = (record.length, record.batch)
        branch.kept, branch.forced = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
        branch.label = label
        self.shown = branch.id

    def resume(self, bid: int, record: RunRecord) -> Branch | None:
        """``record`` takes branch ``bid`` up again ("Back" to it): its newest run from now on."""
        b = self.branches.get(bid)
        if b is not None:
            b.previous, b.record = b.shown_record(), record
            self.shown = bid
        return b

    def file_run(self, record: RunRecord, previous: RunRecord | None, pending: tuple[str, object] | None,
                 hint_sample: int, label: Callable[[RunRecord, np.ndarray | None, str | None], str]) -> Branch:
        """Take in a run that began after ``previous``: a new branch, a restart of the shown one, or one resumed.

        ``pending`` is what the panel asked for: ("resume", branch id) after "Back", ("given", its label)
        for "complete from here", else None (a force, a play, new settings). ``label(record, forced,
        given)`` names a new branch.
        """
        cur, req = self.current(), record.info.request
        if pending is not None and pending[0] == "resume":
            resumed = self.resume(int(pending[1]), record)  # type: ignore[call-overload]
            if resumed is not None:
                return resumed
        if (pending is None and not req.forced and req.prefix_len == 0 and cur is not None and not cur.marked()
                and previous is not None and cur.record is previous and cur.previous is None
                and not previous.finished):
            self.replace(cur, record, label(record, None, None))  # new settings before a plain run finished
            return cur
        given = pending is not None and pending[0] == "given"
        branched = not given and (bool(req.forced) or req.prefix_len > 0)
        parent = cur.id if branched and cur is not None and cur.record is previous else None
        kept, forced = run_marks(record, previous if branched else None, given, hint_sample)
        text = str(pending[1]) if given and pending is not None else None
        return self.add(record, parent, kept, forced, label(record, forced, text))

    def back_target(self) -> int | None:
        """Where "Back" goes from the branch shown: its parent, else the branch made before it."""
        b = self.current()
        if b is None:
            return max(self.branches) if self.branches else None
        if b.parent is not None and b.parent in self.branches:
            return b.parent
        earlier = [i for i in self.branches if i < b.id]
        return max(earlier) if earlier else None

    def _trim(self) -> None:
        while len(self.branches) > 1 and (len(self.branches) > MAX_BRANCHES
                                          or sum(b.nbytes() for b in self.branches.values()) > MAX_BYTES):
            oldest = min(i for i in self.branches if i != self.shown)
            del self.branches[oldest]
            for b in self.branches.values():
                if b.parent == oldest:
                    b.parent = None
