"""The runs of the text panel's branch tree: each run's record, where it was cut from, what made it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arstudio.engine.record import RunRecord


@dataclass
class Node:
    """One run in the branch tree: its record, where it was cut from, and how it is labelled.

    ``origin`` names a beam or a branch (its parent and given tokens), so that choosing it again
    selects this node instead of adding a copy; None for a run of the prompt.
    """

    id: int
    parent: int | None
    record: RunRecord
    forced_step: int | None
    label: str
    origin: tuple | None = None


def token_ids(record: RunRecord) -> np.ndarray:
    """The token ids a (one-sample) text run has written so far."""
    return np.nan_to_num(record.values[: record.filled, 0]).astype(np.int64)


def planned_steps(record: RunRecord) -> int:
    """How many steps the run was asked for (its prompt included)."""
    steps = getattr(record.info.request, "steps", None)
    return int(steps) if steps is not None else record.length
