"""Held-out evaluation, and the marginal NLL of a class-conditional model (-log sum_c p(c) p(x|c))."""

from __future__ import annotations

import math

import pytest
import torch

from arstudio.cli import main
from arstudio.core import registry
from arstudio.train.evaluate import evaluate, evaluate_marginal


def tiny_gated(classes: int = 3) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = dict(registry.get("gated_pixelcnn").tiny_config, classes=classes)
    model = registry.get("gated_pixelcnn").build(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def test_marginal_is_the_log_sum_over_classes() -> None:
    model = tiny_gated(3)
    x = torch.randint(0, 4, (5, 25))
    prior = torch.tensor([0.5, 0.3, 0.2])
    got = evaluate_marginal(model, x, prior.log(), batch_size=2)
    with torch.no_grad():
        per = torch.stack([-model.eval_nll(x, torch.full((5,), c)).double() for c in range(3)], 1)  # log p(x|c)
    want = float(-(torch.logsumexp(per + prior.double().log(), 1)).mean())
    assert got["nats"] == pytest.approx(want, abs=1e-5)  # float32 sums in batches of 2 vs of 5
    assert got["bits_per_dim"] == pytest.approx(want / (25 * math.log(2)))
    # bounds: below the NLL given the true label plus -log p(label), above the best class's NLL
    y = torch.tensor([0, 1, 2, 0, 1])
    given = evaluate(model, x, y)["nats"]
    assert got["nats"] <= given - float(prior.log()[y].mean()) + 1e-5
    assert got["nats"] >= float(-per.max(1).values.mean()) - 1e-5


def test_cli_eval_marginal(tmp_path, capsys) -> None:
    out = tmp_path / "g.safetensors"
    assert main(["train", "gated_pixelcnn", "--data", "digits17", "--steps", "2", "--batch-size", "8",
                 "--config", "channels=4", "--config", "layers=1", "--config", "head=4", "--config", "classes=10",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--marginal"]) == 0
    text = capsys.readouterr().out
    assert "given the label" in text and "sum_c p(c) p(x|c)" in text
    plain = tmp_path / "p.safetensors"
    assert main(["train", "fvsbn", "--data", "digits", "--steps", "1", "--out", str(plain)]) == 0
    capsys.readouterr()
    assert main(["eval", str(plain), "--marginal"]) != 0
    assert "class-conditional" in capsys.readouterr().err
