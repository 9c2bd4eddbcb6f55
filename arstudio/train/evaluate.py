"""Held-out evaluation: mean negative log-likelihood in nats per example and bits per dimension."""

from __future__ import annotations

import math
from typing import Any

import torch

from arstudio.core.protocol import ARModel


@torch.no_grad()
def evaluate(model: ARModel, x: torch.Tensor, cond: Any = None, batch_size: int = 512) -> dict[str, float]:
    """NLL of ``x`` [N, D] under ``model``: ``nats`` per example and ``bits_per_dim``."""
    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(model.device)
        cb = cond[i:i + batch_size].to(model.device) if isinstance(cond, torch.Tensor) else cond
        total += float(model.eval_nll(xb, cb).double().sum())
        n += len(xb)
    model.train(was_training)
    if n == 0:
        raise ValueError("cannot evaluate on an empty set")
    nats = total / n
    return {"nats": nats, "bits_per_dim": nats / (x.shape[1] * math.log(2))}
