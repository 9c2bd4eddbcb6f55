"""Music Transformer: Huang et al.'s skewing against the direct S_rel, both attention kinds through every
invariant, the KV cache against recomputation on long sequences, and the attention the panel draws."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import arstudio.models.music_transformer  # noqa: F401  (registers the kind without its entry point)
from arstudio.core.registry import get
from arstudio.models._text import ContextTooLongError
from arstudio.models.music_transformer import MusicTransformer
from arstudio.nn.relative_attention import (RelativeMultiheadAttention, relative_logits_reference, skew,
                                            skew_padded)
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

ATTENTION = ["relative", "absolute"]


def tiny(attention: str, noise: float = 0.3, **config: object) -> MusicTransformer:
    """The kind's tiny config with ``attention``, its weights widened as ``build_tiny`` does, in eval mode."""
    kind = get("music_transformer")
    torch.manual_seed(0)
    model = kind.build({**kind.tiny_config, "attention": attention, **config})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * noise)
    return model.eval()


# ------------------------------------------------------------------ skewing


@pytest.mark.parametrize("t0, T, M, heads", [(0, 7, 7, 3), (0, 5, 11, 3), (4, 3, 9, 1), (6, 1, 8, 3), (0, 1, 1, 1)])
def test_skewing_equals_the_direct_relative_logits(t0: int, T: int, M: int, heads: int) -> None:
    g = torch.Generator().manual_seed(t0 * 100 + T)
    q = torch.randn(2, 3, T, 4, generator=g)  # (B, nh, T, D)
    E = torch.randn(heads, M, 4, generator=g)  # one per head, or shared (1)
    N = t0 + T
    rel = q @ E[:, M - N:].transpose(-2, -1)  # (B, nh, T, N): Q E_r^T, column c = distance N-1-c
    keep = torch.ones(T, N, dtype=torch.bool).tril(t0)
    got = skew(rel, t0).masked_fill(~keep, 0.0)
    torch.testing.assert_close(got, relative_logits_reference(q, E, t0), atol=1e-5, rtol=1e-5)
    padded = q @ F.pad(E[:, M - N:], (0, 0, 1, 0)).transpose(-2, -1)  # the layer's form: a zero row on E_r
    torch.testing.assert_close(skew_padded(padded, t0).masked_fill(~keep, 0.0), got)


def test_skewing_refuses_a_block_that_does_not_fit() -> None:
    with pytest.raises(ValueError, match="need 7 key columns"):
        skew(torch.zeros(1, 3, 6), t0=4)


@pytest.mark.parametrize("shared", [False, True])
def test_the_layer_equals_shaw_et_al_relative_attention(shared: bool) -> None:
    """Softmax((Q K^T + S_rel) / sqrt(D_h)) V with S_rel gathered directly, O(L^2 D) (eq. (2) of Huang et al.)."""
    torch.manual_seed(1)
    B, T, C, nh = 2, 9, 12, 3
    layer = RelativeMultiheadAttention(C, nh, max_len=11, shared_heads=shared).eval()
    with torch.no_grad():
        layer.rel_emb.normal_(0, 0.5)
    x = torch.randn(B, T, C)
    y, w = layer(x, need_weights=True)
    q, k, v = layer.qkv(x).split(C, dim=2)
    q, k, v = (a.view(B, T, nh, C // nh).transpose(1, 2) for a in (q, k, v))  # (B, nh, T, hs)
    s_rel = relative_logits_reference(q, layer.rel_emb)  # (B, nh, T, T)
    logits = (q @ k.transpose(-2, -1) + s_rel) / math.sqrt(C // nh)
    logits = logits.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    ref_w = logits.softmax(-1)
    ref_y = layer.proj((ref_w @ v).transpose(1, 2).reshape(B, T, C))
    torch.testing.assert_close(w, ref_w, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(y, ref_y, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------ both attention kinds keep every invariant


CHECKS = [check_incremental_equals_parallel, check_causality_by_perturbation, check_causality_by_gradient,
          check_fast_cursor_equals_naive, check_prefill, check_select]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("attention", ATTENTION)
def test_both_attention_kinds_keep_the_invariants(attention: str, check) -> None:  # noqa: ANN001
    check(tiny(attention))


@pytest.mark.parametrize("attention", ATTENTION)
def test_both_attention_kinds_round_trip_a_checkpoint(attention: str, tmp_path) -> None:
    path = check_checkpoint_round_trip(tiny(attention), tmp_dir=tmp_path)
    assert path is not None and path.exists()


def test_the_absolute_variant_trains() -> None:
    """Invariant 5 for attention="absolute" (the registry's tiny config, relative, is trained by test_invariants)."""
    kind = get("music_transformer")
    original = dict(kind.tiny_config)
    try:
        kind.tiny_config["attention"] = "absolute"
        before, after = check_training_lowers_loss("music_transformer", steps=15)
    finally:
        kind.tiny_config.clear()
        kind.tiny_config.update(original)
    assert after < before


def test_the_two_kinds_differ_only_in_how_positions_enter() -> None:
    rel, ab = tiny("relative"), tiny("absolute")
    extra_rel = {k for k in rel.state_dict() if k.endswith("rel_emb")}
    assert len(extra_rel) == rel.n_layers and rel.pos is None
    assert set(ab.state_dict()) == (set(rel.state_dict()) - extra_rel) | {"pos.weight"}


# ------------------------------------------------------------------ the KV cache on long sequences


@pytest.mark.parametrize("attention", ATTENTION)
def test_the_kv_cache_equals_recomputation_on_a_long_sequence(attention: str) -> None:
    model = tiny(attention, noise=0.05, length=300, d_model=32, n_heads=4, d_ff=64)
    x = torch.randint(388, (2, 300), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        parallel = model.log_prob(x)  # [2, 300]
        cur = model.start(2)
        cur.prefill(x[:, :100])  # one pass over a primer, then event by event
        got = []
        for t in range(100, 300):
            got.append(cur.dist().log_prob(x[:, t]))
            cur.push(x[:, t])
        recompute = [model(model.inputs(x[:, :t + 1]), last_only=True)[0][:, -1].log_softmax(-1) for t in (150, 299)]
    torch.testing.assert_close(torch.stack(got, 1), parallel[:, 100:], atol=1e-4, rtol=1e-4)
    for t, logp in zip((150, 299), recompute):
        torch.testing.assert_close(logp.gather(1, x[:, t:t + 1])[:, 0], parallel[:, t], atol=1e-4, rtol=1e-4)
    assert cur.done


def test_a_sequence_longer_than_the_context_is_refused() -> None:
    model = tiny("relative")
    with pytest.raises(ContextTooLongError, match="13 events is longer than this model's context of 12 events"):
        model.log_prob(torch.zeros(1, 13, dtype=torch.long))
    cur = model.start(1)
    with pytest.raises(ContextTooLongError, match="events"):
        cur.prefill(torch.zeros(1, 13, dtype=torch.long))


def test_a_bad_config_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="attention must be one of relative, absolute; got 'rotary'"):
        tiny("rotary")
    with pytest.raises(ValueError, match="d_model .* multiple of n_heads"):
        tiny("relative", n_heads=3)


def test_untied_output_weights() -> None:
    model = tiny("relative", tie_embeddings=False)
    assert model.head is not None and model.head.weight.shape == (388, 16)
    check_incremental_equals_parallel(model)


# ------------------------------------------------------------------ the attention the panel draws


@pytest.mark.parametrize("attention", ATTENTION)
def test_attention_of_the_current_step(attention: str) -> None:
    model = tiny(attention)
    x = torch.randint(388, (2, 12), generator=torch.Generator().manual_seed(4))
    cur = model.start(2)
    assert cur.attention() is None  # before the first push
    with torch.no_grad():
        _, weights = model(model.inputs(x), need_weights=True)  # n_layers x (B, nh, T, T)
    for t in range(1, 12):
        cur.push(x[:, t - 1])
        a = cur.attention(row=1)
        full = cur.attention(row=1, with_start=True)
        assert a.shape == (model.n_layers, model.n_heads, t) and full.shape == (model.n_layers, model.n_heads, t + 1)
        assert abs(full.sum(-1) - 1).max() < 1e-5  # every head's weights over [S, x_0 .. x_{t-1}] sum to 1
        assert (a == full[:, :, 1:]).all() and (a >= 0).all() and (a.sum(-1) <= 1 + 1e-5).all()
        ref = torch.stack([w[1, :, t, :t + 1] for w in weights]).numpy()  # the query at position t, in parallel
        assert abs(full - ref).max() < 1e-4
        assert [w.shape for w in cur.last_attention] == [(2, model.n_heads, t + 1)] * model.n_layers
        if t in (1, 7):  # a primer written in one pass gives the same attention (the panel's way after a MIDI primer)
            primed = model.start(2)
            primed.prefill(x[:, :t])
            assert abs(primed.attention(row=1) - a).max() < 1e-5
    cur.push(x[:, 11])
    assert cur.attention() is None  # the last event needs no further query
    cur = model.start(2, record_attention=False)
    cur.push(x[:, 0])
    assert cur.attention() is None
