"""Likelihood scores of images: the per-pixel map sums to the NLL, class marginals, held-out standing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from arstudio.core.checkpoint import CheckpointMeta
from arstudio.core.registry import get
from arstudio.train import scoring

CFG = {"shape": [1, 8, 8], "values": "categorical", "levels": 17, "channels": 8, "layers": 2, "kernel": 3,
       "first_kernel": 3, "head": 8}


def build(kind: str, **extra):
    torch.manual_seed(0)
    model = get(kind).build({**CFG, **extra})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(17, (n, 64), generator=torch.Generator().manual_seed(seed))


def test_nll_map_sums_to_the_models_nll() -> None:
    model = build("pixelcnn")
    x = images(3)
    m = scoring.nll_map(model, x)
    assert m.shape == (3, 64) and (m >= 0).all()
    np.testing.assert_allclose(m.sum(1), model.nll(x).detach().double().numpy(), rtol=1e-5)
    one = scoring.nll_map(model, x[0].numpy())
    assert one.shape == (64,)
    assert math.isclose(scoring.bits_per_dim(float(one.sum()), 64), float(one.sum()) / (64 * math.log(2)))


def test_nll_map_follows_an_ordering() -> None:
    torch.manual_seed(0)
    made = get("made").build({"shape": [1, 4, 4], "hidden": [16], "num_masks": 3})
    made.select_ordering(2)
    x = torch.randint(2, (2, 16), generator=torch.Generator().manual_seed(1))
    m = scoring.nll_map(made, x)
    lp = made.log_prob(x).detach()  # step order
    order = made.layout.order_array()
    np.testing.assert_allclose(m[:, order], -lp.double().numpy(), rtol=1e-6)


def test_conditional_scores_are_the_class_marginal() -> None:
    model = build("gated_pixelcnn", classes=3)
    x = images(2, 3)
    per_class = torch.stack([model.nll(x, torch.full((2,), c)) for c in range(3)]).detach()  # (3, B)
    want = -(torch.logsumexp(-per_class.double(), 0) - math.log(3))
    np.testing.assert_allclose(scoring.image_score(model, x), want.detach().numpy(), rtol=1e-6)
    best = scoring.best_label(model, x[0])
    assert best == int(per_class[:, 0].argmin())
    m = scoring.nll_map(model, x[0], label=best)
    assert math.isclose(float(m.sum()), float(per_class[best, 0]), rel_tol=1e-5)
    with pytest.raises(ValueError, match="outside"):
        scoring.nll_map(model, x[0], label=7)


def test_heldout_scores_and_standing() -> None:
    model = build("pixelcnn")
    meta = CheckpointMeta(kind="pixelcnn", config=model.spec.config, data={"name": "digits17"})
    held = scoring.heldout_scores(model, meta, limit=40)
    assert len(scoring.heldout_images(build("gated_pixelcnn", classes=3), meta)) == scoring.HELDOUT_LIMIT_CONDITIONAL
    assert held.shape == (40,) and np.isfinite(held).all()
    st = scoring.standing(held, float(held.max()) + 1.0)
    assert st.percentile == 100.0 and st.z > 0 and st.verdict.startswith("very unusual")
    assert scoring.standing(held, float(np.median(held))).verdict == "typical of the held-out images"
    with pytest.raises(ValueError, match="do not fit"):
        scoring.heldout_scores(model, CheckpointMeta(kind="pixelcnn", config={}, data={"name": "digits"}))
    with pytest.raises(ValueError, match="records no data set"):
        scoring.heldout_scores(model, CheckpointMeta(kind="pixelcnn", config={}))


def test_class_names() -> None:
    assert scoring.class_names(CheckpointMeta(kind="k", config={}, data={"name": "glyphs28"}), 12)[10:] == ["A", "B"]
    assert scoring.class_names(CheckpointMeta(kind="k", config={}), 3) == ["0", "1", "2"]
