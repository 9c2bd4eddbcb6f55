"""EoNADE: the order-agnostic loss estimates the NLL averaged over orderings; the ensemble is a log-mean-exp."""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from arstudio.core.registry import get


def exact_nll(model, x: torch.Tensor, order: tuple[int, ...]) -> torch.Tensor:
    """-log p(x | order) by the chain rule, one conditional at a time."""
    mask = torch.zeros_like(x, dtype=torch.float32)
    total = torch.zeros(len(x))
    for j in order:
        logit = model.conditional_logits(x, mask)[:, j]
        total += torch.nn.functional.binary_cross_entropy_with_logits(logit, x[:, j].float(), reduction="none")
        mask[:, j] = 1.0
    return total


def test_order_agnostic_loss_is_unbiased_for_the_mean_over_orderings() -> None:
    torch.manual_seed(0)
    model = get("eonade").build({"shape": [1, 1, 3], "hidden": [8], "num_orderings": 2})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
        x = torch.tensor([[1, 0, 1]])
        want = float(torch.stack([exact_nll(model, x, o) for o in itertools.permutations(range(3))]).mean())
        g = torch.Generator().manual_seed(1)
        draws = [float(model.training_loss(x.expand(20000, 3), generator=g)) for _ in range(5)]
    assert abs(np.mean(draws) - want) < 0.02 * want


def test_ensemble_nll_is_the_log_mean_over_its_orderings() -> None:
    torch.manual_seed(0)
    model = get("eonade").build({"shape": [1, 2, 2], "hidden": [8], "num_orderings": 3})
    x = torch.tensor([[1, 0, 1, 1], [0, 0, 1, 0]])
    with torch.no_grad():
        per = torch.stack([exact_nll(model, x, tuple(int(v) for v in o)) for o in model.orderings])  # (K, B)
        want = -(torch.logsumexp(-per, dim=0) - math.log(3))
        torch.testing.assert_close(model.eval_nll(x), want, atol=1e-5, rtol=0)
        for k, o in enumerate(model.orderings):
            model.select_ordering(k)
            torch.testing.assert_close(model.nll(x), per[k], atol=1e-5, rtol=0)
    assert model.ordering == 2 and list(model.layout.order_array()) == list(model.orderings[2])
