"""The marginal NLL with the classes batched into each forward pass equals the class-by-class computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arstudio.core import registry
from arstudio.train import scoring
from arstudio.train.evaluate import class_nll, eval_batch_size, evaluate_marginal


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    """A tiny Gated PixelCNN over 5x5 images with 36 classes, weights shaken so the classes differ."""
    torch.manual_seed(0)
    m = registry.get("gated_pixelcnn").build(registry.get("gated_pixelcnn").tiny_config).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return m


def class_by_class(model, x: torch.Tensor, log_prior: torch.Tensor) -> float:
    """The computation the batched one replaced: one pass per class over the whole set, then logsumexp."""
    with torch.no_grad():
        per = torch.stack([-model.eval_nll(x, torch.full((len(x),), c)).double() for c in range(len(log_prior))], 1)
    return float(-(torch.logsumexp(per + log_prior.double(), 1)).mean())


@pytest.mark.parametrize("rows", [None, 1, 7, 36, 72, 1000])
def test_batched_marginal_equals_class_by_class(model, rows) -> None:
    x = torch.randint(0, 4, (9, 25), generator=torch.Generator().manual_seed(1))
    prior = torch.softmax(torch.randn(36, generator=torch.Generator().manual_seed(2)), 0)
    want = class_by_class(model, x, prior.log())
    seen: list[tuple[int, int]] = []
    got = evaluate_marginal(model, x, prior.log(), batch_size=rows, progress=lambda n, total: seen.append((n, total)))
    assert got["nats"] == pytest.approx(want, abs=1e-5)
    assert seen[-1] == (9, 9) and [n for n, _ in seen] == sorted({n for n, _ in seen})


def test_class_nll_lays_out_every_image_under_every_class(model) -> None:
    x = torch.randint(0, 4, (3, 25), generator=torch.Generator().manual_seed(3))
    got = class_nll(model, x, 36, rows=10)
    with torch.no_grad():
        want = torch.stack([model.eval_nll(x, torch.full((3,), c)).double() for c in range(36)], 1)
    assert got.shape == (3, 36)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)


def test_image_score_of_a_conditional_model_is_the_uniform_marginal(model) -> None:
    x = torch.randint(0, 4, (4, 25), generator=torch.Generator().manual_seed(4))
    uniform = torch.full((36,), 1 / 36)
    with torch.no_grad():
        per = torch.stack([-model.eval_nll(x, torch.full((4,), c)).double() for c in range(36)], 1)
    want = (-(torch.logsumexp(per + uniform.double().log(), 1))).numpy()
    for rows in (None, 5, 500):
        np.testing.assert_allclose(scoring.image_score(model, x, batch_size=rows), want, atol=1e-4, rtol=0)


def test_eval_batch_size_fits_the_example_length() -> None:
    assert eval_batch_size(784) == 41 and eval_batch_size(64) == 512 and eval_batch_size(100_000) == 16
    assert eval_batch_size(784, "cuda") == 512  # an accelerator takes large batches (nothing runs here)


def test_side_by_side_passes_give_the_same_figure_and_restore_the_threads(model) -> None:
    x = torch.randint(0, 4, (11, 25), generator=torch.Generator().manual_seed(5))
    prior = torch.full((36,), 1 / 36).log()
    threads = torch.get_num_threads()
    seen: list[int] = []
    one = evaluate_marginal(model, x, prior, batch_size=40)
    two = evaluate_marginal(model, x, prior, batch_size=40, workers=3, progress=lambda n, _: seen.append(n))
    assert two["nats"] == pytest.approx(one["nats"], abs=1e-5)
    assert seen == list(range(1, 12)) and torch.get_num_threads() == threads  # in order, one image a pass


def test_an_error_in_a_pass_stops_the_side_by_side_run(model) -> None:
    x = torch.randint(0, 4, (6, 25))
    bad = torch.zeros(40).log()  # 40 classes: labels past the model's 36 make eval_nll raise
    threads = torch.get_num_threads()
    with pytest.raises(ValueError, match="class labels"):
        evaluate_marginal(model, x, bad, workers=2)
    assert torch.get_num_threads() == threads
