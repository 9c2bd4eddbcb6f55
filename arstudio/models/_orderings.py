"""Helpers of the order-agnostic models (MADE, EoNADE): follow one of K orderings, score the ensemble."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from arstudio.core.protocol import ARModel
from arstudio.core.spec import Layout, ModelSpec


def spec_following(spec: ModelSpec, base: Layout, order: np.ndarray) -> ModelSpec:
    """``spec`` with its layout following ``order`` (step -> flat index) over the raster ``base`` layout."""
    return spec.__class__(spec.kind, spec.config, base.with_order(order), spec.values, spec.cond)


def ensemble_nll(model: ARModel, x: torch.Tensor, cond: Any = None) -> torch.Tensor:
    """-log (1/K) sum_k p(x | ordering k) over the model's K orderings (EoNADE, Uria et al. 2014), [B].

    The model follows each ordering in turn and is left on the one it followed before.
    """
    keep = model.ordering  # type: ignore[attr-defined]
    lps = []
    try:
        for k in range(model.num_orderings):
            model.select_ordering(k)
            lps.append(-model.nll(x, cond))
    finally:
        model.select_ordering(keep)
    return -(torch.logsumexp(torch.stack(lps), dim=0) - np.log(model.num_orderings))
