"""WaveNet: receptive field, fast (queue) cursor vs naive, conditioning, short inputs, the invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from arstudio.core import NaiveCursor, SamplingPolicy, generate
from arstudio.core.registry import get
from arstudio.engine.sampling import _cond_tensor
from arstudio.models.wavenet import WaveNet
from arstudio.nn.dilated import DilatedCausalConv1d
from arstudio.testing import (
    check_causality_by_gradient,
    check_causality_by_perturbation,
    check_checkpoint_round_trip,
    check_fast_cursor_equals_naive,
    check_incremental_equals_parallel,
    check_prefill,
    check_select,
    check_training_lowers_loss,
)

SMALL = {"length": 64, "stacks": 2, "layers": 3, "residual_channels": 8, "dilation_channels": 8, "skip_channels": 8,
         "n_mels": 8, "hop_length": 8, "n_fft": 32, "cond_channels": 8, "voices": ["a", "b", "c"]}


def small(**overrides) -> WaveNet:
    torch.manual_seed(0)
    model = get("wavenet").build({**SMALL, **overrides})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    assert isinstance(model, WaveNet)
    return model.eval()


def codes(model: WaveNet, batch: int, seed: int, length: int | None = None) -> torch.Tensor:
    n = model.layout.length if length is None else length
    return torch.randint(model.config.levels, (batch, n), generator=torch.Generator().manual_seed(seed))


def packed(voice: float, mel: torch.Tensor | None) -> torch.Tensor:
    """One conditioning row [1 + n_mels * F] in the contract's format."""
    rest = mel.reshape(-1) if mel is not None else torch.zeros(0)
    return torch.cat([torch.tensor([float(voice)]), rest])


@pytest.mark.parametrize("kernel, dilation, T", [(2, 1, 9), (2, 4, 9), (3, 8, 40), (2, 16, 5)])
def test_the_time_major_dilated_conv_is_the_causal_conv(kernel: int, dilation: int, T: int) -> None:
    torch.manual_seed(0)
    conv = DilatedCausalConv1d(3, 5, kernel, dilation)
    x = torch.randn(2, 3, T)
    torch.testing.assert_close(conv.along_time(x.transpose(1, 2)), conv(x).transpose(1, 2))
    y = conv(x)
    x2 = x.clone()
    x2[:, :, 4:] += 1.0  # the future of step 3 changes; steps 0..3 do not
    torch.testing.assert_close(conv(x2)[:, :, :4], y[:, :, :4])


@pytest.mark.parametrize("kernel, stacks, layers", [(2, 2, 3), (3, 1, 4)])
def test_receptive_field_by_gradient(kernel: int, stacks: int, layers: int) -> None:
    model = small(kernel_size=kernel, stacks=stacks, layers=layers, length=80)
    rf = (kernel - 1) * stacks * (2 ** layers - 1) + 1
    assert model.receptive_field == rf
    x = codes(model, 1, 0)
    leaves = []
    hook = model.embed.register_forward_hook(lambda m, i, out: leaves.append(out.detach().requires_grad_(True))
                                             or leaves[-1])
    try:
        logits = model.dists(x).logits  # (1, T, levels)
    finally:
        hook.remove()
    t = 70
    (g,) = torch.autograd.grad(logits[0, t].sum(), leaves[0])
    seen = (g[0].abs().sum(-1) != 0).nonzero().squeeze(1).tolist()  # the x positions step t reads
    assert seen == list(range(t - rf, t))


def test_the_queue_cursor_samples_what_the_naive_cursor_samples_past_the_ring() -> None:
    # 2 stacks x 6 layers: the ring holds 33 positions, so 150 steps wrap it several times.
    model = small(layers=6, length=150, hop_length=16)
    cond = model.example_cond(2, torch.Generator().manual_seed(1))
    for policy in (SamplingPolicy(), SamplingPolicy(temperature=0.8, top_k=20)):
        fast = list(generate(model, batch=2, seed=3, policy=policy, cond=cond, views=False))
        naive = list(generate(model, batch=2, seed=3, policy=policy, cond=cond, views=False,
                              cursor=NaiveCursor(model, 2, cond)))
        assert np.array_equal(np.stack([s.value for s in fast]), np.stack([s.value for s in naive]))
        np.testing.assert_allclose(np.stack([s.log_prob for s in fast]), np.stack([s.log_prob for s in naive]),
                                   atol=1e-4)


@torch.no_grad()
def test_prefill_from_one_parallel_pass_equals_pushes_past_the_ring() -> None:
    model = small(layers=5, length=120)
    x = codes(model, 2, 4)
    cond = model.example_cond(2, torch.Generator().manual_seed(2))
    parallel = model.log_prob(x, cond)
    for n in (1, 17, 100):
        cur = model.start(2, cond)
        cur.prefill(x[:, :n])
        for t in range(n, model.layout.length):
            torch.testing.assert_close(cur.dist().log_prob(x[:, t]), parallel[:, t], atol=1e-4, rtol=1e-4)
            cur.push(x[:, t])


@torch.no_grad()
def test_voice_and_mel_change_the_output_and_none_means_neither() -> None:
    model = small()
    x = codes(model, 1, 5)
    frames = math.ceil(64 / 8)
    g = torch.Generator().manual_seed(0)
    mel_a, mel_b = torch.randn(8, frames, generator=g), torch.randn(8, frames, generator=g)

    def lp(cond: torch.Tensor | None) -> torch.Tensor:
        return model.dists(x, None if cond is None else cond[None]).logits

    assert not torch.allclose(lp(packed(0, None)), lp(packed(1, None)))
    assert not torch.allclose(lp(packed(0, mel_a)), lp(packed(0, mel_b)))
    assert not torch.allclose(lp(packed(-1, mel_a)), lp(packed(-1, None)))
    torch.testing.assert_close(lp(None), lp(packed(-1, None)))
    # The cursor reads the same conditioning.
    cur = model.start(1, packed(2, mel_a))
    torch.testing.assert_close(cur.dist().logits, model.dists(x, packed(2, mel_a)[None]).logits[:, 0])


@torch.no_grad()
def test_samples_past_a_short_mel_equal_the_no_mel_path() -> None:
    model = small(stacks=1, layers=2)  # receptive field 4
    x = codes(model, 1, 6)
    mel = torch.randn(8, 2, generator=torch.Generator().manual_seed(1))  # frames 0, 1: samples 0..15
    with_mel = model.dists(x, packed(1, mel)[None]).logits
    without = model.dists(x, packed(1, None)[None]).logits
    assert not torch.allclose(with_mel[:, :16], without[:, :16])
    torch.testing.assert_close(with_mel[:, 16 + 4:], without[:, 16 + 4:])


def test_a_dropped_condition_is_the_unconditional_model() -> None:
    model = small(cond_dropout=1.0)
    x = codes(model, 3, 7)
    cond = model.example_cond(3, torch.Generator().manual_seed(3))
    loss = model.training_loss(x, cond, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loss, model.nll(x, None).mean())
    model.config.cond_dropout = 0.0
    torch.testing.assert_close(model.training_loss(x, cond), model.nll(x, cond).mean())


@torch.no_grad()
def test_dists_take_any_length_up_to_the_layout() -> None:
    model = small()
    x = codes(model, 2, 8).to(torch.int64)
    cond = model.example_cond(2, torch.Generator().manual_seed(4))  # a mel covering the whole layout
    full = model.dists(x, cond).logits
    for t in (1, 13, 40, 64):
        torch.testing.assert_close(model.dists(x[:, :t], cond).logits, full[:, :t])
    assert model.eval_nll(x[:, :40], cond).shape == (2,)
    with pytest.raises(ValueError, match="T <= 64"):
        model.dists(codes(model, 1, 0, 65))


def test_bad_conditioning_is_refused_in_one_line() -> None:
    model = small()
    x = codes(model, 1, 0)
    with pytest.raises(ValueError, match="voice 3 is not one of this model's 3 voices"):
        model.dists(x, packed(3, None)[None])
    with pytest.raises(ValueError, match="not a whole number of frames of 8 mel bins"):
        model.dists(x, torch.zeros(1, 1 + 12))
    with pytest.raises(ValueError, match="codes must lie in 0..255"):
        model.dists(torch.full((1, 4), 256))


def test_a_float_condition_reaches_the_model_as_float() -> None:
    row = np.concatenate([[1.0], np.linspace(-4, 0, 16)]).astype(np.float32)
    assert _cond_tensor(row[None], torch.device("cpu")).dtype == torch.float32
    assert _cond_tensor(np.array([3, 1]), torch.device("cpu")).dtype == torch.long


@pytest.mark.parametrize("check", [check_incremental_equals_parallel, check_causality_by_perturbation,
                                   check_causality_by_gradient, check_fast_cursor_equals_naive, check_prefill,
                                   check_select])
@pytest.mark.parametrize("config", [{}, {"voices": [], "n_mels": 0}, {"kernel_size": 3, "n_mels": 0}])
def test_the_invariants_hold_with_and_without_conditioning(check, config) -> None:
    check(small(**config))


def test_checkpoint_round_trip(tmp_path) -> None:
    model = small()
    model.set_labels([f"{v}" for v in range(256)])
    check_checkpoint_round_trip(model, tmp_dir=tmp_path)


@pytest.mark.slow
def test_training_lowers_the_loss_on_tones() -> None:
    pytest.importorskip("arstudio.modalities.audio.tones")  # registers tones16k (the kind's tiny data)
    before, after = check_training_lowers_loss("wavenet", steps=10, batch_size=8)
    assert after < before
