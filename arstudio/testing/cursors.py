"""The cursor's two shortcuts agree with plain pushes: ``prefill(prefix)`` and ``select(rows)``.

- ``check_prefill``: ``cursor.prefill(prefix)`` (one pass where the cursor offers it, e.g. the text
  models' KV cache; the base class pushes) leaves the cursor where pushing the same prefix step by
  step does: the same t, the same values, the same next Dist, and the same Dists for the steps
  pushed after it. Prefixes of several lengths are tried, the empty and the full one included, and
  a prefill in two calls.
- ``check_select``: after ``select(rows)`` (reorder, duplicate, drop batch rows, as beam search and
  branching do) the cursor gives the Dist a fresh cursor fed only those rows gives, at that step
  and at every later one.
"""

from __future__ import annotations

from typing import Any

import torch

from arstudio.core.protocol import ARModel, Cursor
from arstudio.testing.build import assert_same_dist, orderings, random_cond, random_data, select_cond


def _pushed(model: ARModel, steps_x: torch.Tensor, cond: Any, n: int) -> Cursor:
    cur = model.start(steps_x.shape[0], cond)
    for t in range(n):
        cur.push(steps_x[:, t])
    return cur


def _same_state(a: Cursor, b: Cursor, what: str) -> None:
    """a and b are at the same step and hold the same values."""
    if a.t != b.t:
        raise AssertionError(f"{what}: the cursor is at step {a.t}, pushing step by step reached {b.t}")
    if not torch.equal(a.x, b.x.to(a.x.device)):
        raise AssertionError(f"{what}: the cursor holds other values than pushing step by step wrote")


def _same_onwards(a: Cursor, b: Cursor, steps_x: torch.Tensor, what: str, atol: float) -> None:
    """Push the remaining steps into both, comparing their Dists at every step."""
    _same_state(a, b, what)
    for t in range(a.t, steps_x.shape[1]):
        assert_same_dist(a.dist(), b.dist(), f"{what}: step {t}", atol=atol, rtol=atol)
        a.push(steps_x[:, t])
        b.push(steps_x[:, t])
    if not (a.done and b.done):
        raise AssertionError(f"{what}: the cursor is not done after the last step")


def prefill_lengths(length: int) -> list[int]:
    """Prefix lengths worth trying: empty, one, about half, all but one, all."""
    return sorted({0, min(1, length), length // 2, max(length - 1, 0), length})


@torch.no_grad()
def check_prefill(model: ARModel, *, batch: int = 2, seed: int = 6, atol: float = 1e-4) -> None:
    """``prefill(prefix)`` equals pushing the prefix step by step: same t, values and Dists from there on."""
    name = model.spec.kind
    for k in orderings(model):
        steps_x = model.steps_of(random_data(model, batch, seed))
        cond = random_cond(model, batch)
        T = model.layout.length
        for n in prefill_lengths(T):
            what = f"{name} ordering {k}: prefill of {n} steps"
            a = model.start(batch, cond)
            a.prefill(steps_x[:, :n].clone())
            _same_onwards(a, _pushed(model, steps_x, cond, n), steps_x, what, atol)
        if T >= 3:  # two calls in a row continue where the first stopped
            n1, n2 = T // 3, 2 * T // 3
            a = model.start(batch, cond)
            a.dist()  # a cursor that has already handed out step 0's Dist
            a.prefill(steps_x[:, :n1].clone())
            a.prefill(steps_x[:, n1:n2].clone())
            _same_onwards(a, _pushed(model, steps_x, cond, n2), steps_x,
                          f"{name} ordering {k}: prefill of {n1} then {n2 - n1} steps", atol)


def select_rows(batch: int) -> list[list[int]]:
    """Row selections worth trying on a batch of 3 or more: reorder and duplicate (growing the batch), keep one."""
    if batch < 3:
        raise ValueError("check_select needs a batch of at least 3 rows")
    return [[2, 0, 0, 1], [1], [batch - 1, 0]]


@torch.no_grad()
def check_select(model: ARModel, *, batch: int = 3, seed: int = 7, atol: float = 1e-4) -> None:
    """``select(rows)`` after t steps gives the Dists of a fresh cursor fed only those rows, at step t and after."""
    name = model.spec.kind
    for k in orderings(model):
        x = random_data(model, batch, seed)
        steps_x = model.steps_of(x)
        cond = random_cond(model, batch, seed)
        T = model.layout.length
        for t in sorted({0, T // 2, max(T - 1, 0)}):
            for i, rows in enumerate(select_rows(batch)):
                r = torch.tensor(rows, device=x.device)
                a = _pushed(model, steps_x, cond, t)
                if i % 2 == 0 and not a.done:
                    a.dist()  # a cursor that has already computed step t's Dist (the sampling loop's case)
                a.select(r)
                if a.batch != len(rows):
                    raise AssertionError(f"{name}: select({rows}) left a batch of {a.batch}")
                b = _pushed(model, steps_x[r], select_cond(cond, r), t)
                _same_onwards(a, b, steps_x[r], f"{name} ordering {k}: select({rows}) after {t} steps", atol)
