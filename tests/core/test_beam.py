"""Beam search through the protocol: exact against brute-force enumeration when nothing is pruned."""

from __future__ import annotations

import pytest
import torch

from arstudio.core import SamplingPolicy, generate
from arstudio.core.beam import beam_search, enumerate_continuations
from arstudio.core.registry import get


def tiny(kind: str, vocab: int = 4):
    torch.manual_seed(1)
    config = {"vocab_size": vocab, "block_size": 8}
    config.update({"n_layer": 2, "n_head": 2, "n_embd": 16} if kind == "gpt" else
                  {"max_len": 8, "n_embd": 8, "hidden": 16, "n_layer": 1})
    model = get(kind).build(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.4 * torch.randn_like(p))
    return model.eval()


@pytest.mark.parametrize("kind", ["gpt", "char_rnn"])
@pytest.mark.parametrize("prefix", [[], [1, 3]])
def test_equals_brute_force_when_nothing_is_pruned(kind, prefix):
    model = tiny(kind)
    steps = 3
    k = 4 ** (steps - 1)  # every partial continuation survives: the exact top k
    got = beam_search(model, prefix, k, steps)
    want = enumerate_continuations(model, prefix, steps)[:k]
    assert [b.tokens for b in got] == [b.tokens for b in want]
    for g, w in zip(got, want):
        assert g.log_prob == pytest.approx(w.log_prob, abs=1e-5)
        assert g.step_log_probs == pytest.approx(w.step_log_probs, abs=1e-5)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_k_continuations_sorted_and_scored_by_teacher_forcing(k):
    model = tiny("gpt", vocab=6)
    beams = beam_search(model, [2], k, 4)
    assert len(beams) == k
    lps = [b.log_prob for b in beams]
    assert lps == sorted(lps, reverse=True)
    assert len({tuple(b.tokens) for b in beams}) == k
    for b in beams:
        with torch.no_grad():
            lp = model.log_prob(torch.tensor([[2] + b.tokens]))[0, 1:]
        assert b.log_prob == pytest.approx(float(lp.sum()), abs=1e-4)
    best = enumerate_continuations(model, [2], 4)[0]
    assert beams[0].log_prob <= best.log_prob + 1e-9  # no continuation beats the exact best


def test_width_one_is_greedy_decoding():
    model = tiny("gpt", vocab=6)
    greedy = [int(s.value[0]) for s in generate(model, steps=6, prefix=torch.tensor([[1, 2]]),
                                                  policy=SamplingPolicy(temperature=0.0))]
    assert beam_search(model, [1, 2], 1, 4)[0].tokens == greedy[2:]


def test_stop_value_ends_a_continuation():
    model = tiny("gpt")
    full = beam_search(model, [0], 16, 3)
    stop = full[0].tokens[0]
    beams = beam_search(model, [0], 16, 3, stop_value=stop)
    assert any(b.finished for b in beams)
    for b in beams:
        assert (stop not in b.tokens[:-1]) and (b.finished == (b.tokens[-1] == stop))
    lps = [b.log_prob for b in beams]
    assert lps == sorted(lps, reverse=True)


def test_bad_arguments():
    model = tiny("gpt")
    with pytest.raises(ValueError, match="width"):
        beam_search(model, [], 0, 3)
    with pytest.raises(ValueError, match="fills"):
        beam_search(model, [0] * 8, 2, 3)
    assert len(beam_search(model, [0] * 6, 3, 10)[0].tokens) == 2  # capped at the context
