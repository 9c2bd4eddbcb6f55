"""PixelCNN and Gated PixelCNN: parallel vs cached cursor, causality, same samples, checkpoints, training, blind spot."""

from __future__ import annotations

import pytest
import torch

from arstudio.core import NaiveCursor, SamplingPolicy, generate, load_checkpoint, save_checkpoint
from arstudio.core.checkpoint import CheckpointMeta
from arstudio.core.registry import get
from arstudio.data import get_dataset
from arstudio.models.dependency import dependency_map, receptive_field
from arstudio.train.fit import TrainConfig, Trainer

KINDS = ["pixelcnn", "gated_pixelcnn"]
SMALL = {"shape": [1, 6, 7], "values": "categorical", "levels": 5, "channels": 8, "layers": 3, "kernel": 3,
         "first_kernel": 5, "head": 8}
H, W, L = 6, 7, 5



def small(kind: str, classes: int = 3):
    torch.manual_seed(0)
    cfg = {**SMALL, "classes": classes} if kind == "gated_pixelcnn" else SMALL
    model = get(kind).build(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def data(batch: int, seed: int) -> torch.Tensor:
    return torch.randint(L, (batch, H * W), generator=torch.Generator().manual_seed(seed))


def conds(model, batch: int) -> list:
    return [torch.arange(batch) % 3, None] if model.spec.cond else [None]


@pytest.mark.parametrize("kind", KINDS)
@torch.no_grad()
def test_cached_cursor_equals_parallel_log_prob(kind: str) -> None:
    model = small(kind)
    x = data(3, 1)
    for cond in conds(model, 3):
        parallel = model.log_prob(x, cond)
        assert parallel.shape == (3, H * W)
        cur = model.start(3, cond)
        for t in range(H * W):
            d = cur.dist()
            assert d.logits.shape == (3, L)
            torch.testing.assert_close(d.log_prob(x[:, t]), parallel[:, t], atol=1e-5, rtol=1e-5)
            cur.push(x[:, t])
        assert torch.equal(cur.x, x)


@pytest.mark.parametrize("kind", KINDS)
@torch.no_grad()
def test_causality(kind: str) -> None:
    model = small(kind)
    x = data(2, 2)
    cond = conds(model, 2)[0]
    base = model.dists(x, cond).logits
    for t in range(H * W):
        x2 = x.clone()
        x2[:, t:] = data(2, 100 + t)[:, t:]
        torch.testing.assert_close(model.dists(x2, cond).logits[:, : t + 1], base[:, : t + 1], atol=0, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_cached_cursor_samples_like_naive_cursor(kind: str) -> None:
    model = small(kind)
    for cond in conds(model, 4):
        for policy in (SamplingPolicy(), SamplingPolicy(temperature=0.8, top_k=3), SamplingPolicy(temperature=0)):
            fast = [s.value for s in generate(model, batch=4, seed=7, policy=policy, cond=cond)]
            naive = [s.value for s in generate(model, batch=4, seed=7, policy=policy, cond=cond,
                                               cursor=NaiveCursor(model, 4, cond))]
            assert all((a == b).all() for a, b in zip(fast, naive, strict=True))


@pytest.mark.parametrize("kind", KINDS)
@torch.no_grad()
def test_select_and_prefill_keep_the_caches_consistent(kind: str) -> None:
    model = small(kind)
    x = data(3, 3)
    cond = torch.tensor([0, 1, 2]) if model.spec.cond else None
    cur = model.start(3, cond)
    cur.prefill(x[:, :17])  # pushes without dist(), across two row ends
    rows = torch.tensor([2, 0, 0])
    cur.select(rows)
    parallel = model.log_prob(x[rows], cond[rows] if cond is not None else None)
    for t in range(17, H * W):
        torch.testing.assert_close(cur.dist().log_prob(x[rows, t]), parallel[:, t], atol=1e-5, rtol=1e-5)
        cur.push(x[rows, t])


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint_round_trip(kind: str, tmp_path) -> None:
    model = small(kind)
    path = save_checkpoint(tmp_path / f"{kind}.safetensors", model, CheckpointMeta(kind=kind, config=model.spec.config))
    loaded, meta = load_checkpoint(path)
    assert meta.config == model.spec.config and loaded.spec.cond == model.spec.cond
    x = data(2, 4)
    cond = conds(model, 2)[0]
    with torch.no_grad():
        torch.testing.assert_close(loaded.log_prob(x, cond), model.log_prob(x, cond), atol=0, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_training_on_digits17_lowers_the_loss(kind: str) -> None:
    ds = get_dataset("digits17")
    torch.manual_seed(0)
    extra = {"classes": 10} if kind == "gated_pixelcnn" else {}
    model = get(kind).build({**ds.model_config(), "channels": 16, "layers": 2, "head": 16, **extra})
    trainer = Trainer(model, ds, TrainConfig(steps=25, batch_size=32, lr=5e-3, eval_every=25))
    before = trainer.evaluate("valid")["bits_per_dim"]
    trainer.run()
    after = trainer.evaluate("valid")["bits_per_dim"]
    assert after < before - 0.3, f"{kind}: {before:.3f} -> {after:.3f} bits/dim"


def test_class_conditioning_changes_the_distribution() -> None:
    model = small("gated_pixelcnn")
    x = data(1, 5)
    with torch.no_grad():
        a, b = model.log_prob(x, torch.tensor([0])), model.log_prob(x, torch.tensor([1]))
    assert not torch.allclose(a, b)
    assert model.spec.cond == {"classes": 3} and small("gated_pixelcnn", classes=0).spec.cond == {}
    with pytest.raises(ValueError, match="class labels must lie in 0..2"):
        model.log_prob(x, torch.tensor([3]))


def test_pixelcnn_has_a_blind_spot_and_gated_pixelcnn_none() -> None:
    """Pixel (5, 3) of 8x8: PixelCNN cannot see (4, 7), up and right; Gated PixelCNN sees every earlier pixel."""
    cfg = {"shape": [1, 8, 8], "values": "categorical", "levels": 17, "channels": 16, "layers": 4, "kernel": 3,
           "first_kernel": 7, "head": 16}
    index = 5 * 8 + 3
    earlier = torch.arange(64).view(8, 8) < index
    torch.manual_seed(0)
    pcnn = get("pixelcnn").build(cfg)
    seen = receptive_field(pcnn, index, (8, 8))
    blind = earlier & ~seen
    assert blind.any() and blind[4, 7], "PixelCNN should have a blind spot above and to the right"
    assert not (seen & ~earlier).any()
    gated = get("gated_pixelcnn").build({**cfg, "channels": 8, "classes": 10})
    seen = receptive_field(gated, index, (8, 8), cond=torch.tensor([3, 4]))
    assert torch.equal(seen, earlier), "Gated PixelCNN should see every earlier pixel and no later one"


def test_dependency_map_shape_and_zero_after_the_pixel() -> None:
    model = small("pixelcnn")
    x = data(2, 6)
    m = dependency_map(model, x, 20)
    assert m.shape == (2, H * W) and (m[:, 20:] == 0).all() and (m[:, :20] > 0).any()
    assert dependency_map(model, x[0], 20).shape == (H * W,)
    with pytest.raises(IndexError):
        dependency_map(model, x, H * W)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_configs_are_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="one grey channel"):
        get(kind).build({"shape": [3, 8, 8]})
    with pytest.raises(ValueError, match="discrete"):
        get(kind).build({"shape": [1, 8, 8], "values": "continuous"})


def test_cache_benchmark_smoke() -> None:
    from arstudio.bench.pixelcnn import bench_pixelcnn_cache

    results = bench_pixelcnn_cache(batches=(2,), shape=(1, 5, 6), quick=True)
    assert [r.name for r in results] == ["pixelcnn-cache", "gated_pixelcnn-cache"]
    for r in results:
        assert r.settings["identical"] and r.ours.unit == "steps/s" and r.ratio > 0


def test_diagonal_bilstm_sees_every_earlier_pixel_and_row_lstm_does_not() -> None:
    """Pixel (5, 1) of 8x8. Row LSTM: a triangle above, so (2, 7) is out of reach (Sec. 3.1).

    Diagonal BiLSTM: every earlier pixel, the last one of the row above included, in one layer.
    Without its right-to-left direction reading the pixel at its own place (the paper's layer as
    written), that last pixel (4, 7) would be out of reach: checked by zeroing those weights.
    """
    base = {"shape": [1, 8, 8], "values": "categorical", "levels": 17, "channels": 8, "first_kernel": 3, "head": 8}
    index = 5 * 8 + 1
    earlier = torch.arange(64).view(8, 8) < index
    torch.manual_seed(0)
    row = get("pixelrnn").build({**base, "layers": 2, "kernel": 3})
    seen = receptive_field(row, index, (8, 8))
    assert not (seen & ~earlier).any() and not seen[2, 7]
    diag = get("pixelrnn_bilstm").build({**base, "layers": 1})
    seen = receptive_field(diag, index, (8, 8))
    assert torch.equal(seen, earlier), "the Diagonal BiLSTM should see every earlier pixel and no later one"
    with torch.no_grad():
        diag.layers[0].rev_input.weight[:, -1].zero_()  # the paper's K^is: the layer's input only
    seen = receptive_field(diag, index, (8, 8))
    assert not (seen & ~earlier).any() and not seen[4, 7]
