"""DiscretizedLogisticMixture (PixelCNN++ eq. 2): normalised over 256 levels, edge cases, sampling, view."""

from __future__ import annotations

import pytest
import torch

from arstudio.core import DiscretizedLogisticMixture, SamplingPolicy


def dlm(batch: tuple[int, ...] = (4,), k: int = 3, seed: int = 0, levels: int = 256) -> DiscretizedLogisticMixture:
    g = torch.Generator().manual_seed(seed)
    shape = (*batch, k)
    return DiscretizedLogisticMixture(torch.randn(shape, generator=g), torch.rand(shape, generator=g) * 2.4 - 1.2,
                                      torch.randn(shape, generator=g) - 2.5, levels)


def test_probabilities_over_the_levels_sum_to_one() -> None:
    d = dlm((5, 2))
    lp = d.level_log_probs()
    assert lp.shape == (5, 2, 256)
    torch.testing.assert_close(lp.exp().sum(-1), torch.ones(5, 2), atol=1e-5, rtol=0)
    v = torch.randint(256, (5, 2))
    torch.testing.assert_close(d.log_prob(v), lp.gather(-1, v.unsqueeze(-1)).squeeze(-1))
    tempered = d.level_log_probs(0.5).exp().sum(-1)
    torch.testing.assert_close(tempered, torch.ones(5, 2), atol=1e-5, rtol=0)


def test_edge_levels_take_the_tails() -> None:
    """A component centred far below -1 puts its mass on level 0; far above +1, on level 255."""
    lw = torch.zeros(2, 1)
    d = DiscretizedLogisticMixture(lw, torch.tensor([[-3.0], [3.0]]), torch.full((2, 1), -3.0))
    p = d.level_log_probs().exp()
    assert p[0, 0] > 0.999 and p[1, 255] > 0.999
    # one narrow component at a level's centre: almost all mass there, none lost to rounding
    d = DiscretizedLogisticMixture(torch.zeros(1, 1), torch.tensor([[2 * 100 / 255 - 1]]), torch.tensor([[-9.0]]))
    assert float(d.log_prob(torch.tensor([100])).exp()) > 0.999
    assert torch.isfinite(d.log_prob(torch.tensor([0, 255]))).all()


def test_mixture_of_one_level_bin_matches_a_logistic_cdf() -> None:
    mu, s = 0.1, 0.2
    d = DiscretizedLogisticMixture(torch.zeros(1), torch.tensor([mu]), torch.tensor([s]).log())
    v = 140
    y = 2 * v / 255 - 1
    expected = torch.sigmoid(torch.tensor((y + 1 / 255 - mu) / s)) - torch.sigmoid(torch.tensor((y - 1 / 255 - mu) / s))
    torch.testing.assert_close(d.log_prob(torch.tensor(v)).exp(), expected.float(), atol=1e-6, rtol=1e-4)


def test_greedy_takes_the_most_likely_level_and_sampling_follows_the_probabilities() -> None:
    d = dlm((3,))
    assert torch.equal(d.sample(None, SamplingPolicy(temperature=0)), d.level_log_probs().argmax(-1))
    one = d[1]
    many = DiscretizedLogisticMixture(one.logit_weights.expand(4000, -1), one.means.expand(4000, -1),
                                      one.log_scales.expand(4000, -1))
    s = many.sample(torch.Generator().manual_seed(0))
    assert s.dtype == torch.long and int(s.min()) >= 0 and int(s.max()) <= 255
    emp = torch.bincount(s, minlength=256).float() / 4000
    p = one.level_log_probs().exp()
    assert (emp.cumsum(0) - p.cumsum(0)).abs().max() < 0.03  # Kolmogorov-Smirnov distance


def test_temperature_sharpens_and_top_k_filters_levels() -> None:
    d = dlm((1,))
    ent = [float(-(lp.exp() * lp).sum()) for lp in (d.level_log_probs(t) for t in (0.5, 1.0, 1.5))]
    assert ent[0] < ent[1] < ent[2]
    many = DiscretizedLogisticMixture(d.logit_weights.expand(500, -1), d.means.expand(500, -1),
                                      d.log_scales.expand(500, -1))
    s = many.sample(torch.Generator().manual_seed(1), SamplingPolicy(top_k=2))
    top2 = set(d.level_log_probs()[0].topk(2).indices.tolist())
    assert set(s.tolist()) <= top2


def test_view_is_bars_over_the_levels_and_indexing_keeps_the_batch() -> None:
    d = dlm((2, 3))
    v = d[:, 1].view()
    assert v.kind == "bars" and v.support.shape == (256,) and v.probs.shape == (2, 256)
    assert abs(v.probs.sum(-1) - 1).max() < 1e-4 and (v.entropy > 0).all()
    torch.testing.assert_close(torch.as_tensor(v.entropy), d.entropy()[:, 1])
    assert d[0].batch_shape == (3,) and set(d.params()) == {"logit_weights", "means", "log_scales"}


@pytest.mark.parametrize("levels", [2, 17])
def test_other_level_counts_are_normalised(levels: int) -> None:
    d = dlm((3,), levels=levels)
    torch.testing.assert_close(d.level_log_probs().exp().sum(-1), torch.ones(3), atol=1e-5, rtol=0)
