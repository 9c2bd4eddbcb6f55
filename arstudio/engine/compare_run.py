"""The compare window's job: runs ``arstudio.train.compare`` in the window's ``JobRunner``, yields plain data.

The comparison itself (both models driven through the core's one ``generate`` loop in lockstep,
per-step KL and log p, teacher forcing, metrics, the summary figures) is GUI-free and lives in
``arstudio.train.compare``, which ``arstudio compare`` calls too. Only numpy arrays in small
dataclasses reach the GUI, tagged with a run id.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arstudio.core.modality import step_unit
from arstudio.core.policy import SamplingPolicy
from arstudio.train.compare import (CompareError, CompareStep, CompareSummary, Disagreement, check_comparable,
                                    compare_steps, default_input, kl_views, metrics_table, open_pair, summarize,
                                    teacher_forced)

__all__ = ["CompareBatch", "CompareError", "CompareRequest", "CompareStarted", "CompareSummary", "Disagreement",
           "check_comparable", "compare_batch", "compare_steps", "is_grid", "kl_views", "run_comparison",
           "teacher_forced"]


def is_grid(shape: tuple[int, ...]) -> bool:
    """True for a (C, H, W) layout: its samples draw as images and a heatmap can cover an input."""
    return len(shape) == 3


# ---- messages ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompareRequest:
    """A comparison run: both checkpoints, the shared settings, and an input to teacher-force on."""

    run_id: int
    path_a: Path
    path_b: Path
    batch: int = 4
    seed: int = 0
    policy: SamplingPolicy = field(default_factory=SamplingPolicy)
    forced: dict[int, Any] = field(default_factory=dict)
    input_x: np.ndarray | None = None  # [D] data order; None = the first held-out example of A's data
    steps: int | None = None  # None: every step both models write


@dataclass(frozen=True)
class CompareStarted:
    """Both models loaded: shapes, values and the metrics table."""

    run_id: int
    shape: tuple[int, ...]  # A's layout
    batch: int
    levels: int  # number of values (for brightness); 0 for continuous
    low: float
    high: float
    rows: list[tuple[str, str, str]]
    steps: int = 0  # steps compared
    modality: str = ""
    step_unit: str = "step"  # "dim", "token" ... (the modality's)
    labels: tuple[str, ...] | None = None  # display labels of the values (a text model's tokens)


@dataclass
class CompareBatch:
    """Consecutive steps of both runs: data indices, values and the per-step figures (batch means)."""

    run_id: int
    t: np.ndarray  # [n]
    index_a: np.ndarray
    index_b: np.ndarray
    value_a: np.ndarray  # [n, B]
    value_b: np.ndarray
    kl: np.ndarray  # [n] mean over the batch
    dlogp: np.ndarray  # [n] mean of log p_A(x_A) - log p_B(x_B)
    log_p_a: np.ndarray | None = None  # [n, B]
    log_p_b: np.ndarray | None = None


# ---- the job -----------------------------------------------------------------------------------
Message = CompareStarted | Disagreement | CompareBatch  # what a comparison yields, in this order


def run_comparison(req: CompareRequest) -> Generator[Message, None, CompareSummary]:
    """Compare as ``req`` says, as a job of the window's ``JobRunner`` (in its thread).

    Yields ``CompareStarted`` once both models are loaded, a ``Disagreement`` when there is an input
    to teacher-force on, then ``CompareBatch`` es at most ~30 times a second; returns the summary.
    A newer request (or closing the window) closes the generator at its next ``yield``. Errors
    (CompareError, CheckpointError, a bug) reach the window as the runner's one line.
    """
    pair = open_pair(req.path_a, req.path_b, steps=req.steps)
    a, b = pair.a, pair.b
    v = a.spec.values
    shape = tuple(a.layout.shape)
    yield CompareStarted(req.run_id, shape, req.batch, v.n if v.discrete else 0, v.low, v.high,
                         metrics_table(pair.meta_a, pair.meta_b, step_unit(pair.modality)), pair.steps,
                         pair.modality, step_unit(pair.modality), v.labels)
    x = req.input_x  # a person's file; for images, else the first held-out example when it fits
    if x is None and is_grid(shape) and tuple(b.layout.shape) == shape:
        x = default_input(pair.meta_a, a)
    if x is not None:
        yield teacher_forced(a, b, x)
    done: list[CompareStep] = []
    pending: list[CompareStep] = []
    last = time.monotonic()
    for step in compare_steps(a, b, req.batch, req.seed, req.policy, req.forced, pair.steps):
        pending.append(step)
        done.append(step)
        if time.monotonic() - last >= 1 / 30:
            yield compare_batch(req.run_id, pending)
            pending, last = [], time.monotonic()
    if pending:
        yield compare_batch(req.run_id, pending)
    return summarize(done)


def compare_batch(run_id: int, steps: list[CompareStep]) -> CompareBatch:
    """Consecutive steps (at least one) as one message."""
    lpa, lpb = np.stack([s.log_p_a for s in steps]), np.stack([s.log_p_b for s in steps])
    return CompareBatch(
        run_id, np.array([s.t for s in steps]), np.array([s.index_a for s in steps]),
        np.array([s.index_b for s in steps]), np.stack([s.value_a for s in steps]),
        np.stack([s.value_b for s in steps]), np.array([float(s.kl.mean()) for s in steps]),
        (lpa - lpb).mean(axis=1), lpa, lpb)
