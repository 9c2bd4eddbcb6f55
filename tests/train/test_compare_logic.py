"""Comparing two checkpoints without Qt: the core's one loop drives both, KL finite, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from arstudio.core import registry
from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint
from arstudio.core.dists import DistView
from arstudio.core.formats import open_checkpoint
from arstudio.core.generate import sample
from arstudio.core.policy import SamplingPolicy
from arstudio.data.tokenizers import CharTokenizer
from arstudio.train.compare import (CompareError, check_comparable, compare_steps, kl_views, open_pair, summarize,
                                    teacher_forced)

CHARS = "abcde fg\n"


def _save(path: Path, kind: str, config: dict, scale: float = 1.0, data: str = "digits") -> Path:
    """An untrained model of ``kind`` with spread weights (so samples vary), saved to ``path``."""
    torch.manual_seed(0)
    model = registry.get(kind).build(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
    meta = CheckpointMeta(kind=kind, config=model.spec.config, data={"name": data},
                          metrics={"test_nats": 40.0, "test_bits_per_dim": 0.9})
    out = save_checkpoint(path, model, meta)
    if out.read_bytes()[:1] == b"\x80":  # a header length that reads as a pickle's magic: pad the header
        meta.extra["pad"] = "-"
        out = save_checkpoint(path, model, meta)
    return out


def image_checkpoint(folder: Path, kind: str) -> Path:
    """A tiny 8x8 binary image model: nade, made or fvsbn."""
    config = {"nade": {"shape": [1, 8, 8], "hidden": 8}, "fvsbn": {"shape": [1, 8, 8]},
              "made": {"shape": [1, 8, 8], "hidden": [16], "num_masks": 3}}[kind]
    return _save(folder / f"{kind}-tiny.safetensors", kind, config)


def text_checkpoint(folder: Path, kind: str = "gpt", chars: str = CHARS, length: int = 24, name: str = "") -> Path:
    """A tiny untrained text model (gpt or char_rnn) over ``chars`` writing up to ``length`` tokens."""
    tok = CharTokenizer.from_text(chars)
    config = {"vocab_size": tok.vocab_size, "block_size": length, "tokenizer": tok.to_config()}
    config.update({"n_layer": 2, "n_head": 2, "n_embd": 16} if kind == "gpt" else
                  {"max_len": length, "n_embd": 8, "hidden": 12, "n_layer": 1})
    return _save(folder / f"{name or kind}-text-tiny.safetensors", kind, config, scale=0.5, data="pydoc-chars")


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("compare")
    return {"nade": image_checkpoint(d, "nade"), "fvsbn": image_checkpoint(d, "fvsbn"),
            "made": image_checkpoint(d, "made"), "gpt": text_checkpoint(d, "gpt"),
            "rnn": text_checkpoint(d, "char_rnn", length=16),
            "other_gpt": text_checkpoint(d, "gpt", chars="abc xyzh\n", name="other")}


def test_kl_of_bars_is_exact_and_finite_where_probabilities_are_zero() -> None:
    a = DistView("bars", np.arange(2), np.array([[0.5, 0.5], [0.9, 0.1]]), np.zeros(2))
    b = DistView("bars", np.arange(2), np.array([[0.5, 0.5], [0.5, 0.5]]), np.zeros(2))
    np.testing.assert_allclose(kl_views(a, b), [0.0, 0.9 * np.log(1.8) + 0.1 * np.log(0.2)])
    # q underflowed to 0 where p is not (a peaked or truncated model): large but finite; p = 0 adds nothing
    p = DistView("bars", np.arange(3), np.array([[0.5, 0.5, 0.0]]), np.zeros(1))
    q = DistView("bars", np.arange(3), np.array([[1.0, 0.0, 0.0]]), np.zeros(1))
    assert np.isfinite(kl_views(p, q)).all() and kl_views(p, q)[0] > 10
    assert kl_views(q, p)[0] == pytest.approx(np.log(2))


def test_identical_models_have_kl_zero(ckpts) -> None:
    for key in ("nade", "gpt"):
        a, _ = open_checkpoint(ckpts[key])
        b, _ = open_checkpoint(ckpts[key])
        steps = list(compare_steps(a, b, 3, 5, SamplingPolicy()))
        assert all(np.allclose(s.kl, 0, atol=1e-6) and np.array_equal(s.value_a, s.value_b) for s in steps)
        s = summarize(steps)
        assert s.steps == a.layout.length and s.kl_mean == pytest.approx(0, abs=1e-6)
        assert s.dlogp_mean == pytest.approx(0, abs=1e-6) and s.agree == 1.0 and s.first_difference is None


def test_each_side_samples_what_it_would_alone(ckpts) -> None:
    a, _ = open_checkpoint(ckpts["nade"])
    b, _ = open_checkpoint(ckpts["fvsbn"])
    got_a, got_b = np.zeros((2, 64)), np.zeros((2, 64))
    for s in compare_steps(a, b, 2, 9, SamplingPolicy(), {3: 1}):
        got_a[:, s.index_a], got_b[:, s.index_b] = s.value_a, s.value_b
        assert (s.kl >= 0).all() and s.forced == (s.t == 3)
    np.testing.assert_array_equal(got_a, sample(a, batch=2, seed=9, forced={3: torch.tensor(1)}).numpy())
    np.testing.assert_array_equal(got_b, sample(b, batch=2, seed=9, forced={3: torch.tensor(1)}).numpy())


def test_a_text_pair_compares_up_to_the_shorter_context(ckpts) -> None:
    pair = open_pair(ckpts["gpt"], ckpts["rnn"])
    assert pair.modality == "text" and pair.steps == 16  # gpt writes 24 tokens, the RNN 16
    steps = list(compare_steps(pair.a, pair.b, 3, 7, SamplingPolicy(top_k=2), steps=pair.steps))
    assert [s.t for s in steps] == list(range(16))
    kl = np.stack([s.kl for s in steps])
    assert np.isfinite(kl).all() and (kl >= 0).all() and kl.sum() > 0
    s = summarize(steps)
    figures = [s.kl_mean, s.kl_max, s.dlogp_mean, s.dlogp_abs_mean, s.logp_a, s.logp_b]
    assert all(np.isfinite(figures)) and s.kl_max >= s.kl_mean > 0
    # each side drew what it would alone under the same (top-k) policy
    alone = sample(pair.b, batch=3, seed=7, steps=16, policy=SamplingPolicy(top_k=2)).numpy()
    np.testing.assert_array_equal(np.stack([s.value_b for s in steps], 1), alone[:, :16])
    assert len(list(compare_steps(pair.a, pair.b, 1, 0, steps=5))) == 5


def test_teacher_forcing_matches_log_prob(ckpts) -> None:
    a, _ = open_checkpoint(ckpts["made"])
    a.select_ordering(2)
    b, _ = open_checkpoint(ckpts["nade"])
    x = (np.arange(64) % 3 == 0).astype(np.int64)
    d = teacher_forced(a, b, x)
    xt = torch.as_tensor(x).view(1, -1)
    assert d.log_p_a.sum() == pytest.approx(float(a.log_prob(xt).sum().detach()), abs=1e-4)
    assert d.log_p_b.sum() == pytest.approx(float(b.log_prob(xt).sum().detach()), abs=1e-4)
    assert d.kl.shape == (64,) and (d.kl >= 0).all() and d.kl.sum() > 0
    # a text: both read the tokens that fit the shorter context
    g, _ = open_checkpoint(ckpts["gpt"])
    r, _ = open_checkpoint(ckpts["rnn"])
    ids = np.arange(20) % 9
    d = teacher_forced(g, r, ids)
    assert d.shape == (16,) and np.isfinite(d.kl).all()
    assert d.log_p_a.sum() == pytest.approx(float(g.log_prob(torch.as_tensor(ids[:16])[None]).sum().detach()), abs=1e-4)


def test_another_tokenizer_is_a_clear_message(ckpts) -> None:
    for check in (check_comparable, open_pair):
        with pytest.raises(CompareError, match=r"use different tokenizers \(both have a character tokenizer of 10 ids, "
                                               r"with characters 'defg' only in gpt-text-tiny's, 'hxyz' only in "
                                               r"other-text-tiny's\)") as e:
            check(ckpts["gpt"], ckpts["other_gpt"])
        assert "\n" not in str(e.value)


def test_another_modality_is_a_clear_message(ckpts) -> None:
    with pytest.raises(CompareError, match=r"gpt-text-tiny is a text model \(gpt\) and nade-tiny is an image model "
                                           r"\(nade\): only checkpoints of the same modality"):
        open_pair(ckpts["nade"], ckpts["gpt"])
    with pytest.raises(CompareError, match="compare at least 1 step"):
        open_pair(ckpts["nade"], ckpts["made"], steps=0)
