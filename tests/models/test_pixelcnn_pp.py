"""PixelCNN++: channel order, the joint likelihood, normalisation over a pixel, cached cursor, causality."""

from __future__ import annotations

import itertools

import pytest
import torch

from arstudio.core import DiscretizedLogisticMixture, NaiveCursor, SamplingPolicy, generate
from arstudio.core.registry import get
from arstudio.models.pixelcnn_pp import channel_order

C, H, W = 3, 3, 4
SMALL = {"shape": [C, H, W], "values": "categorical", "levels": 256, "channels": 6, "layers": 2, "kernel": 3,
         "first_kernel": 3, "mixtures": 3}



def small(levels: int = 256):
    torch.manual_seed(0)
    model = get("pixelcnn_pp").build({**SMALL, "levels": levels})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def data(batch: int, seed: int, levels: int = 256) -> torch.Tensor:
    return torch.randint(levels, (batch, C * H * W), generator=torch.Generator().manual_seed(seed))


def test_steps_go_r_g_b_per_pixel_in_raster_order() -> None:
    model = small()
    assert model.layout.length == C * H * W
    places = [model.layout.place(t) for t in range(7)]
    assert places == [(0, 0, 0), (1, 0, 0), (2, 0, 0), (0, 0, 1), (1, 0, 1), (2, 0, 1), (0, 0, 2)]
    assert channel_order(3, 2, 2) == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]


@torch.no_grad()
def test_joint_nll_equals_the_sum_of_step_terms() -> None:
    model = small()
    x = data(4, 1)
    torch.testing.assert_close(model.nll(x), -model.log_prob(x).sum(-1), atol=1e-3, rtol=1e-5)


@torch.no_grad()
def test_the_three_step_dists_of_a_pixel_normalise_over_all_colours() -> None:
    """With 4 levels a pixel has 64 colours: the product of the R, G, B step probabilities sums to 1."""
    model = small(levels=4)
    x = data(1, 2, levels=4)
    pix = 5  # pixel (1, 1); its earlier pixels are fixed by x
    total = 0.0
    for r, g, b in itertools.product(range(4), repeat=3):
        x2 = x.clone()
        x2[0, [pix, H * W + pix, 2 * H * W + pix]] = torch.tensor([r, g, b])
        total += float(model.log_prob(x2)[0, 3 * pix:3 * pix + 3].sum().exp())
    assert abs(total - 1.0) < 1e-4


@torch.no_grad()
def test_green_and_blue_depend_on_red_through_the_mixture() -> None:
    model = small()
    x = data(1, 3)
    d1 = model.dists(x)
    x2 = x.clone()
    x2[0, 0] = (x2[0, 0] + 128) % 256  # red of pixel 0
    d2 = model.dists(x2)
    torch.testing.assert_close(d1.params()["means"][:, 0], d2.params()["means"][:, 0])  # R itself unchanged
    assert not torch.allclose(d1.params()["means"][:, 1], d2.params()["means"][:, 1])  # G's mean moves
    assert not torch.allclose(d1.params()["logit_weights"][:, 2], d2.params()["logit_weights"][:, 2])
    assert isinstance(d1, DiscretizedLogisticMixture) and d1.view().probs.shape == (C * H * W, 256)


@torch.no_grad()
def test_cached_cursor_equals_parallel_after_select_and_prefill() -> None:
    model = small()
    x = data(3, 4)
    steps = model.steps_of(x)
    parallel = model.log_prob(x)
    cur = model.start(3)
    for t in range(14):  # a row end (t = 11) and a pixel's middle channel
        torch.testing.assert_close(cur.dist().log_prob(steps[:, t]), parallel[:, t], atol=1e-4, rtol=1e-4)
        cur.push(steps[:, t])
    cur.prefill(steps[:, 14:20])  # pushes without dist(), across a pixel and a row end
    rows = torch.tensor([2, 0, 0])
    cur.select(rows)
    parallel = model.log_prob(x[rows])
    for t in range(20, C * H * W):
        torch.testing.assert_close(cur.dist().log_prob(steps[rows, t]), parallel[:, t], atol=1e-4, rtol=1e-4)
        cur.push(steps[rows, t])
    assert torch.equal(cur.x, x[rows])


def test_cached_cursor_samples_like_naive_cursor() -> None:
    model = small()
    for policy in (SamplingPolicy(), SamplingPolicy(temperature=0.8, top_p=0.9), SamplingPolicy(temperature=0)):
        fast = [s.value for s in generate(model, batch=3, seed=7, policy=policy)]
        naive = [s.value for s in generate(model, batch=3, seed=7, policy=policy, cursor=NaiveCursor(model, 3))]
        assert all((a == b).all() for a, b in zip(fast, naive, strict=True))


def test_no_pixel_sees_itself_or_later_pixels() -> None:
    """Gradient of every step's parameters: zero on its own and later steps (pytorch-made's check)."""
    model = small()
    xf = data(2, 5).float().requires_grad_(True)
    params = model.dists(xf).params()
    order = model.layout.order_array()
    for t in range(C * H * W):
        (g,) = torch.autograd.grad(sum(v[:, t].sum() for v in params.values()), xf, retain_graph=True)
        assert (g[:, order[t:]] == 0).all()
        if t % 3 == 2:  # blue sees red and green of its own pixel
            assert (g[:, order[t - 2:t]] != 0).any()


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="RGB"):
        get("pixelcnn_pp").build({"shape": [1, 8, 8]})
    with pytest.raises(ValueError, match="discrete levels"):
        get("pixelcnn_pp").build({"shape": [3, 8, 8], "values": "continuous"})
