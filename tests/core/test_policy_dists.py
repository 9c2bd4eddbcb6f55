"""Sampling policies and distributions."""

from __future__ import annotations

import math

import pytest
import torch

from arstudio.core import Bernoulli, Categorical, GaussianMixture, SamplingPolicy


def test_greedy_takes_argmax() -> None:
    logits = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]])
    assert Categorical(logits).sample(None, SamplingPolicy(temperature=0)).tolist() == [1, 0]


def test_top_k_and_top_p_never_sample_filtered_values() -> None:
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05])).expand(2000, 4)
    g = torch.Generator().manual_seed(0)
    s = Categorical(logits).sample(g, SamplingPolicy(top_k=2))
    assert set(s.tolist()) == {0, 1}
    s = Categorical(logits).sample(g, SamplingPolicy(top_p=0.8))  # smallest set reaching 0.8 is {0, 1}
    assert set(s.tolist()) == {0, 1}
    s = Categorical(logits).sample(g, SamplingPolicy(top_p=0.81))
    assert set(s.tolist()) == {0, 1, 2}


def test_sampling_matches_probabilities_and_is_seeded() -> None:
    p = torch.tensor([0.2, 0.5, 0.3])
    d = Categorical(p.log().expand(20000, 3))
    s1 = d.sample(torch.Generator().manual_seed(1))
    s2 = d.sample(torch.Generator().manual_seed(1))
    assert torch.equal(s1, s2)
    freq = torch.bincount(s1, minlength=3).float() / len(s1)
    assert torch.allclose(freq, p, atol=0.02)


def test_temperature_sharpens() -> None:
    d = Categorical(torch.log(torch.tensor([0.4, 0.6])).expand(20000, 2))
    s = d.sample(torch.Generator().manual_seed(0), SamplingPolicy(temperature=0.25))
    # p ∝ p^4: 0.6^4 / (0.4^4 + 0.6^4) = 0.835
    assert abs(s.float().mean().item() - 0.835) < 0.02


def test_bad_policies_are_refused() -> None:
    for kw in ({"temperature": -1}, {"top_k": -2}, {"top_p": 0.0}, {"top_p": 1.5}):
        with pytest.raises(ValueError):
            SamplingPolicy(**kw)


def test_bernoulli_matches_categorical() -> None:
    logits = torch.tensor([-1.0, 0.5, 3.0])
    b = Bernoulli(logits)
    c = b.as_categorical()
    x = torch.tensor([1, 0, 1])
    torch.testing.assert_close(b.log_prob(x), c.log_prob(x))
    torch.testing.assert_close(b.entropy(), c.entropy())
    v = b.view()
    assert v.kind == "bars" and v.probs.shape == (3, 2)
    assert abs(v.probs.sum(1) - 1).max() < 1e-6


def test_gaussian_mixture_density_integrates_to_one() -> None:
    d = GaussianMixture(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.3, 0.7]]), torch.tensor([[-2.5, -2.0]]))
    v = d.view()
    assert v.kind == "density"
    dx = v.support[1] - v.support[0]
    assert abs(v.probs[0].sum() * dx - 1) < 1e-2
    single = GaussianMixture(torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1, 1))
    assert abs(single.log_prob(torch.zeros(1)).item() + 0.5 * math.log(2 * math.pi)) < 1e-6


def test_indexing_keeps_the_value_axis() -> None:
    d = Categorical(torch.randn(2, 5, 7))
    assert d[:, 3].batch_shape == (2,)
    torch.testing.assert_close(d[:, 3].logits, d.logits[:, 3])
