"""The one generation loop that the CLI, the studio's worker and the benchmarks share."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from arstudio.core.dists import Dist, DistView
from arstudio.core.policy import SamplingPolicy
from arstudio.core.protocol import ARModel, Cursor
from arstudio.core.validate import MAX_SEED, check_values, number


@dataclass
class Step:
    """One generated step of a batch: where it went, what was chosen, from which distribution."""

    t: int
    index: int  # flat data index written at this step
    value: np.ndarray  # [B]
    log_prob: np.ndarray  # [B] log p of the chosen value (log-density for continuous values)
    view: DistView | None  # None when generate() was asked for no views (CLI, benchmarks)
    forced: bool = False
    dist: Dist | None = None  # the step's distribution itself, when generate() was asked to keep it


def make_generator(seed: int | None) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (random when None); ValueError unless 0 <= seed < 2**63."""
    g = torch.Generator(device="cpu")
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(number(seed, "the seed", 0, MAX_SEED, integer=True)))
    return g


def _as_batch(v: Any, batch: int, device: torch.device) -> torch.Tensor:
    v = torch.as_tensor(v, device=device)
    return v.expand(batch) if v.ndim == 0 else v


@torch.no_grad()
def generate(
    model: ARModel,
    *,
    batch: int = 1,
    steps: int | None = None,
    policy: SamplingPolicy | None = None,
    cond: Any = None,
    forced: Mapping[int, Any] | None = None,
    prefix: torch.Tensor | None = None,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
    cursor: Cursor | None = None,
    on_step: Callable[[Step], None] | None = None,
    views: bool = True,
    keep_dists: bool = False,
) -> Iterator[Step]:
    """Sample step by step, yielding a ``Step`` for every step (prefix and forced ones included).

    ``prefix`` [B, t0] holds values in step order that are kept as they are (a prompt, a branch);
    a cursor at step 0 is told that a prompt follows (``Cursor.begin_prompt``: an imported GPT-2
    then reads it without BOS before it, as transformers does);
    ``forced`` maps a step to a value (int or [B]) that replaces the sampled one. Sampling stops
    after ``steps`` steps in all, or when the layout is full. ``views=False`` skips each step's
    ``DistView`` (plain arrays for a plot), which only a GUI needs; ``keep_dists`` hands out each
    step's ``Dist`` instead, so that a consumer can draw the views of many steps in one pass
    (``Dist.stack``), as the studio's sampling loop does.
    """
    policy = policy or SamplingPolicy()
    generator = generator or make_generator(seed)
    cur = cursor if cursor is not None else model.start(batch, cond)
    forced = dict(forced or {})
    total = cur.layout.length if steps is None else min(int(steps), cur.layout.length)
    t0 = 0 if prefix is None else int(prefix.shape[1])
    if t0 > total:
        raise ValueError(f"prefix of {t0} steps is longer than the {total} steps to generate")
    space = model.spec.values
    if prefix is not None:
        check_values(space, prefix, "the kept prefix's values")
    for t, v in forced.items():
        check_values(space, v, f"the value forced at step {t}")
    if t0 and cur.t == 0:
        cur.begin_prompt()
    while cur.t < total:
        t = cur.t
        d = cur.dist()
        if t < t0:
            x_t, was_forced = _as_batch(prefix[:, t], cur.batch, model.device), True
        elif t in forced:
            x_t, was_forced = _as_batch(forced[t], cur.batch, model.device), True
        else:
            x_t, was_forced = d.sample(generator, policy), False
        lp = d.log_prob(x_t)
        step = Step(t, cur.layout.index(t), x_t.detach().cpu().numpy(), lp.detach().float().cpu().numpy(),
                    d.view() if views and not keep_dists else None, was_forced, d if keep_dists else None)
        cur.push(x_t)
        if on_step is not None:
            on_step(step)
        yield step


def sample(model: ARModel, **kwargs: Any) -> torch.Tensor:
    """Run ``generate`` to the end and return the samples as flat data [B, D]."""
    batch = kwargs.get("batch", 1)
    cur = kwargs.pop("cursor", None) or model.start(batch, kwargs.get("cond"))
    for _ in generate(model, cursor=cur, **kwargs):
        pass
    return cur.x
