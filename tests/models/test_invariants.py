"""The five invariants of DESIGN.md, run for every registered model kind on its tiny config."""

from __future__ import annotations

import pytest
import torch

from arstudio.core import NaiveCursor, SamplingPolicy, generate, load_checkpoint, save_checkpoint
from arstudio.core.checkpoint import CheckpointMeta
from arstudio.core.registry import kinds
from arstudio.data import get_dataset
from arstudio.train.fit import TrainConfig, Trainer

KINDS = [k.name for k in kinds()]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"))]


def build(name: str, seed: int = 0, device: str = "cpu"):
    """A tiny model of kind ``name`` with random (not zero) weights, and its data set."""
    kind = next(k for k in kinds() if k.name == name)
    ds = get_dataset(kind.default_data)
    torch.manual_seed(seed)
    model = kind.build({**ds.model_config(), **kind.tiny_config})
    with torch.no_grad():  # perturb so that no weight is trivially zero
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.to(device).eval(), ds


def random_data(model, batch: int, seed: int) -> torch.Tensor:
    """Random flat data [B, D] in the model's value space, on the model's device."""
    g = torch.Generator().manual_seed(seed)
    d, vs = model.layout.length, model.spec.values
    if vs.discrete:
        return torch.randint(vs.n, (batch, d), generator=g).to(model.device)
    return (torch.rand(batch, d, generator=g) * (vs.high - vs.low) + vs.low).to(model.device)


def random_cond(model, batch: int):
    """Random conditioning when the model takes any (class labels)."""
    n = model.spec.cond.get("classes")
    return torch.randint(n, (batch,)).to(model.device) if n else None


def orderings(model) -> list[int]:
    return list(range(min(model.num_orderings, 2)))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", KINDS)
@torch.no_grad()
def test_incremental_equals_parallel(name: str, device: str) -> None:
    model, _ = build(name, device=device)
    for k in orderings(model):
        model.select_ordering(k)
        x = random_data(model, 3, seed=1)
        cond = random_cond(model, 3)
        parallel = model.log_prob(x, cond)  # (B, T)
        steps_x = model.steps_of(x)
        cur = model.start(3, cond)
        for t in range(model.layout.length):
            d = cur.dist()
            torch.testing.assert_close(d.log_prob(steps_x[:, t]), parallel[:, t], atol=1e-4, rtol=1e-4,
                                       msg=f"{name} ordering {k}: step {t}")
            cur.push(steps_x[:, t])


@pytest.mark.parametrize("name", KINDS)
def test_causality_by_perturbation_and_gradient(name: str) -> None:
    model, _ = build(name)
    for k in orderings(model):
        model.select_ordering(k)
        T = model.layout.length
        x = random_data(model, 2, seed=2)
        cond = random_cond(model, 2)
        order = model.layout.order_array()
        with torch.no_grad():
            base = model.log_prob(x, cond)
        for t in range(0, T, max(1, T // 5)):
            x2 = x.clone()
            later = torch.as_tensor(order[t:])  # data indices of steps >= t
            x2[:, later] = random_data(model, 2, seed=100 + t)[:, later]  # x_s changes for every s >= t
            with torch.no_grad():
                lp2 = model.dists(x2, cond)
            # the distribution of step t and every earlier step is unchanged
            d1, d2 = model.dists(x, cond), lp2
            for key, v in d1.params().items():
                torch.testing.assert_close(d2.params()[key][:, : t + 1], v[:, : t + 1], atol=1e-5, rtol=1e-5,
                                           msg=f"{name}: step <= {t} changed when x_s, s >= {t}, changed")
        if model.spec.values.discrete and not getattr(model, "float_input", True):
            continue  # token models take embeddings, not floats; the perturbation test covers them
        xf = x.float().requires_grad_(True)
        try:
            params = model.dists(xf, cond).params()
        except (RuntimeError, IndexError, TypeError):
            continue  # this model cannot take float input
        for t in range(T):
            # backprop from the parameters of step t's distribution (pytorch-made's check)
            out_t = sum(v[:, t].sum() for v in params.values() if v.requires_grad)
            (g,) = torch.autograd.grad(out_t, xf, retain_graph=True)
            later = torch.as_tensor(order[t:])
            assert torch.all(g[:, later] == 0), f"{name}: step {t} has a gradient from a step >= {t}"
    assert base.shape == (2, model.layout.length)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", KINDS)
def test_fast_cursor_equals_naive_cursor(name: str, device: str) -> None:
    model, _ = build(name, device=device)
    for k in orderings(model):
        model.select_ordering(k)
        cond = random_cond(model, 4)
        for policy in (SamplingPolicy(), SamplingPolicy(temperature=0.7, top_k=3, top_p=0.9)):
            fast = list(generate(model, batch=4, seed=5, policy=policy, cond=cond))
            naive = list(generate(model, batch=4, seed=5, policy=policy, cond=cond,
                                  cursor=NaiveCursor(model, 4, cond)))
            assert len(fast) == len(naive) == model.layout.length
            for a, b in zip(fast, naive):
                assert a.index == b.index
                if model.spec.values.discrete:
                    assert (a.value == b.value).all(), f"{name}: step {a.t} sampled differently"
                else:
                    assert abs(a.value - b.value).max() < 1e-4
                assert abs(a.log_prob - b.log_prob).max() < 1e-4


@pytest.mark.parametrize("name", KINDS)
def test_checkpoint_round_trip(name: str, tmp_path) -> None:
    model, ds = build(name)
    path = save_checkpoint(tmp_path / f"{name}.safetensors", model,
                           CheckpointMeta(kind=name, config=model.spec.config, data=ds.meta(), recipe="test"))
    loaded, meta = load_checkpoint(path)
    assert meta.kind == name and meta.recipe == "test"
    x = random_data(model, 3, seed=3)
    cond = random_cond(model, 3)
    with torch.no_grad():
        torch.testing.assert_close(loaded.log_prob(x, cond), model.log_prob(x, cond))


@pytest.mark.parametrize("name", KINDS)
def test_training_lowers_the_loss(name: str) -> None:
    kind = next(k for k in kinds() if k.name == name)
    ds = get_dataset(kind.default_data)
    torch.manual_seed(0)
    model = kind.build({**kind.tiny_config, **ds.model_config()})  # tiny widths, the data's real shape
    trainer = Trainer(model, ds, TrainConfig(steps=30, batch_size=32, lr=1e-2, eval_every=30))
    before = trainer.evaluate("valid")["nats"]
    trainer.run()
    after = trainer.evaluate("valid")["nats"]
    assert after < before, f"{name}: valid NLL {before:.3f} -> {after:.3f}"
