"""Beam search over any model with discrete values, through the protocol: ``Cursor.dist``, ``push`` and ``select``.

Keeps the K partial continuations with the highest total log-probability; at every step each is
extended by every value, the K best extensions survive and the cursor's rows (KV cache, RNN state)
are reordered with ``Cursor.select`` to follow them. A continuation that writes ``stop_value`` is
finished and leaves the beam. With K >= V^(n-1) nothing is ever pruned, so the result is the exact
top K of all V^n continuations of length n (the tests compare with brute-force enumeration).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from arstudio.core.dists import Bernoulli, Categorical, Dist
from arstudio.core.protocol import ARModel


@dataclass
class Beam:
    """One continuation: its new values, their log-probabilities (nats) and the total."""

    tokens: list[int]
    step_log_probs: list[float] = field(default_factory=list)
    finished: bool = False  # ended with the stop value

    @property
    def log_prob(self) -> float:
        """Total log p of the continuation given the prefix, in nats."""
        return float(sum(self.step_log_probs))


def value_log_probs(d: Dist) -> torch.Tensor:
    """log p of every value, [B, K], for a discrete distribution; ValueError for a continuous one."""
    if isinstance(d, Bernoulli):
        d = d.as_categorical()
    if not isinstance(d, Categorical):
        raise ValueError(f"beam search needs discrete values; this model gives {type(d).__name__}")
    return d.logits


@torch.no_grad()
def beam_search(model: ARModel, prefix: Sequence[int] | torch.Tensor, k: int, steps: int,
                stop_value: int | None = None, cond: Any = None) -> list[Beam]:
    """The ``k`` most likely continuations of ``prefix`` (values in step order) of up to ``steps`` values.

    Sorted by total log-probability, best first. Fewer than ``k`` come back when fewer exist.
    """
    if k < 1:
        raise ValueError(f"the beam width must be >= 1, got {k}")
    device = model.device
    prefix_t = torch.as_tensor(list(prefix) if not isinstance(prefix, torch.Tensor) else prefix,
                               dtype=torch.long, device=device).reshape(1, -1)
    length = model.layout.length
    if prefix_t.shape[1] >= length:
        raise ValueError(f"the prefix of {prefix_t.shape[1]} values fills the model's {length} steps")
    steps = min(int(steps), length - prefix_t.shape[1])
    if steps < 1:
        raise ValueError(f"beam search needs at least one step, got {steps}")
    cur = model.start(1, cond)
    if prefix_t.shape[1]:
        cur.begin_prompt()  # GPT-2 reads a prompt without BOS before it, as transformers does
        cur.prefill(prefix_t.to(model.data_dtype()))
    scores = torch.zeros(1, dtype=torch.float64, device=device)  # [beams]
    history = torch.zeros(1, 0, dtype=torch.long, device=device)  # [beams, n] chosen values
    step_lp = torch.zeros(1, 0, dtype=torch.float64, device=device)  # [beams, n]
    done: list[Beam] = []
    for n in range(steps):
        lp = value_log_probs(cur.dist()).double()  # (beams, V)
        v = lp.shape[-1]
        total = (scores[:, None] + lp).reshape(-1)  # (beams * V,)
        top = torch.topk(total, min(k, total.numel()))
        rows, vals = top.indices // v, top.indices % v
        picked_lp = lp[rows, vals]
        history = torch.cat([history[rows], vals[:, None]], 1)
        step_lp = torch.cat([step_lp[rows], picked_lp[:, None]], 1)
        scores = top.values
        keep = torch.ones_like(vals, dtype=torch.bool)
        if stop_value is not None:
            ended = vals == stop_value
            for i in torch.nonzero(ended).flatten().tolist():
                done.append(Beam(history[i].tolist(), step_lp[i].tolist(), finished=True))
            keep = ~ended
        # once k continuations have finished, an active beam can only stay behind the best of them
        if len(done) >= k and keep.any():
            worst_done = sorted(b.log_prob for b in done)[-k]
            keep &= scores > worst_done
        if not keep.any():
            history = history[:0]
            break
        rows, history, step_lp, scores = rows[keep], history[keep], step_lp[keep], scores[keep]
        cur.select(rows)
        if n + 1 < steps:
            cur.push(history[:, -1].to(model.data_dtype()))
    done += [Beam(h, s) for h, s in zip(history.tolist(), step_lp.tolist())]
    done.sort(key=lambda b: -b.log_prob)
    return done[:k]


def enumerate_continuations(model: ARModel, prefix: Sequence[int], steps: int, cond: Any = None) -> list[Beam]:
    """Every continuation of ``steps`` values with its log-probability (teacher forcing), best first.

    V^steps sequences: for checking ``beam_search`` on tiny models only.
    """
    import itertools

    v = model.spec.values.n
    seqs = torch.tensor(list(itertools.product(range(v), repeat=steps)), dtype=torch.long)  # (V^n, n)
    pre = torch.as_tensor(list(prefix), dtype=torch.long).reshape(1, -1).expand(len(seqs), -1)
    x = torch.cat([pre, seqs], 1).to(model.device)
    with torch.no_grad():
        lp = model.log_prob(x.to(model.data_dtype()), cond)[:, pre.shape[1]:].double().cpu()  # (V^n, n)
    out = [Beam(s.tolist(), row.tolist()) for s, row in zip(seqs, lp)]
    out.sort(key=lambda b: -b.log_prob)
    return out
