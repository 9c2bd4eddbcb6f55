"""RNADE: mixture densities that integrate to one, the cursor's running activation, the discrete NLL bound."""

from __future__ import annotations

import math

import pytest
import torch

from arstudio.core import GaussianMixture, NaiveCursor, SamplingPolicy, generate
from arstudio.core.registry import get
from arstudio.data import get_dataset



def small():
    torch.manual_seed(0)
    model = get("rnade").build({"shape": [1, 3, 4], "hidden": 6, "components": 3})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


@torch.no_grad()
def test_each_conditional_density_integrates_to_one() -> None:
    model = small()
    x = torch.rand(2, 12, generator=torch.Generator().manual_seed(0))
    d = model.dists(x)
    assert isinstance(d, GaussianMixture) and d.batch_shape == (2, 12)
    grid = torch.linspace(-4.0, 5.0, 6001)
    lp = d.log_prob(grid.view(-1, 1, 1).expand(-1, 2, 12))  # (G, 2, 12)
    mass = torch.trapezoid(lp.exp(), grid, dim=0)
    torch.testing.assert_close(mass, torch.ones(2, 12), atol=2e-3, rtol=0)


@torch.no_grad()
def test_view_is_a_density_curve_on_the_unit_interval() -> None:
    model = small()
    v = model.start(2).dist().view()
    assert v.kind == "density" and v.support[0] == 0.0 and v.support[-1] == 1.0 and v.probs.shape == (2, 201)


@torch.no_grad()
def test_cursor_keeps_the_running_activation_and_matches_the_parallel_pass() -> None:
    model = small()
    x = torch.rand(3, 12, generator=torch.Generator().manual_seed(1))
    parallel = model.log_prob(x)
    cur = model.start(3)
    cur.prefill(x[:, :5])
    torch.testing.assert_close(cur.a, model.c + x[:, :5] @ model.W[:, :5].T)
    cur.select(torch.tensor([1, 1, 0]))
    for t in range(5, 12):
        torch.testing.assert_close(cur.dist().log_prob(x[[1, 1, 0], t]), parallel[[1, 1, 0], t], atol=1e-5, rtol=1e-5)
        cur.push(x[[1, 1, 0], t])


def test_fast_cursor_samples_like_naive_cursor() -> None:
    model = small()
    for policy in (SamplingPolicy(), SamplingPolicy(temperature=0.5, top_k=2), SamplingPolicy(temperature=0)):
        fast = [s.value for s in generate(model, batch=3, seed=3, policy=policy)]
        naive = [s.value for s in generate(model, batch=3, seed=3, policy=policy, cursor=NaiveCursor(model, 3))]
        for a, b in zip(fast, naive, strict=True):
            assert abs(a - b).max() < 1e-5


@torch.no_grad()
def test_eval_nll_is_the_discrete_bound_on_17_levels() -> None:
    ds = get_dataset("digits-real")
    assert ds.values.kind == "continuous" and ds.values.n == 17 and 0 <= float(ds.train.min())
    assert float(ds.train.max()) <= 1.0
    model = get("rnade").build(ds.model_config())
    x = ds.valid[:8]
    torch.testing.assert_close(model.eval_nll(x), model.nll(x) + 64 * math.log(17))
    v = torch.floor(x * 17)
    y = model.dequantize(x, torch.Generator().manual_seed(0))
    assert torch.equal(torch.floor(y * 17), v) and not torch.equal(y, x)  # fresh noise, same levels


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="real-valued"):
        get("rnade").build({"shape": [1, 8, 8], "values": "categorical", "levels": 17})
