"""Held-out evaluation: mean negative log-likelihood in nats per example and bits per dimension."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from arstudio.core.protocol import ARModel


def _mean_nll(model: ARModel, x: torch.Tensor, nll_of: Callable[[torch.Tensor, int], torch.Tensor],
              batch_size: int) -> dict[str, float]:
    """Mean of ``nll_of(x batch, its first row)`` [B] over x in batches, in eval mode: nats and bits/dim."""
    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(model.device)
        total += float(nll_of(xb, i).double().sum())
        n += len(xb)
    model.train(was_training)
    if n == 0:
        raise ValueError("cannot evaluate on an empty set")
    nats = total / n
    return {"nats": nats, "bits_per_dim": nats / (x.shape[1] * math.log(2))}


@torch.no_grad()
def evaluate(model: ARModel, x: torch.Tensor, cond: Any = None, batch_size: int = 512) -> dict[str, float]:
    """NLL of ``x`` [N, D] under ``model``: ``nats`` per example and ``bits_per_dim``."""

    def nll_of(xb: torch.Tensor, i: int) -> torch.Tensor:
        cb = cond[i:i + len(xb)].to(model.device) if isinstance(cond, torch.Tensor) else cond
        return model.eval_nll(xb, cb)

    return _mean_nll(model, x, nll_of, batch_size)


@torch.no_grad()
def evaluate_marginal(model: ARModel, x: torch.Tensor, log_prior: torch.Tensor, batch_size: int = 256
                      ) -> dict[str, float]:
    """Unconditional NLL of a class-conditional model: -log sum_c p(c) p(x | c), one pass per class.

    ``log_prior`` [C] is log p(c) (e.g. the training labels' frequencies). This is the figure to
    compare with an unconditional model's NLL; -log p(x | true c) is lower by up to log C nats.
    """
    classes = int(log_prior.numel())
    if classes < 1:
        raise ValueError("the marginal NLL needs at least one class")
    lp = log_prior.double().to(model.device)

    def nll_of(xb: torch.Tensor, i: int) -> torch.Tensor:
        per_class = torch.stack([-model.eval_nll(xb, torch.full((len(xb),), c, dtype=torch.long,
                                                                 device=model.device)).double()
                                 for c in range(classes)], dim=1)  # [B, C] log p(x | c)
        return -torch.logsumexp(per_class + lp, dim=1)

    return _mean_nll(model, x, nll_of, batch_size)
