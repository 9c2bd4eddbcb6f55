"""GPT and Char-RNN: the five invariants on small configs, plus KV cache, prefill, attention, context limits."""

from __future__ import annotations

import pytest
import torch

from arstudio.core import NaiveCursor, SamplingPolicy, generate, load_checkpoint, save_checkpoint
from arstudio.core.checkpoint import CheckpointMeta
from arstudio.core.registry import get
from arstudio.data.text import pydoc_text, text_dataset
from arstudio.data.tokenizers import tokenizer_from_config
from arstudio.models._text import ContextTooLongError
from arstudio.models.char_rnn import CharRNN
from arstudio.models.gpt import GPT
from arstudio.nn.attention import KVCache
from arstudio.train import TrainConfig, Trainer

V = 11
CONFIGS = {
    "gpt": {"vocab_size": V, "block_size": 12, "n_layer": 2, "n_head": 2, "n_embd": 16},
    "char_rnn": {"vocab_size": V, "block_size": 12, "max_len": 0, "n_embd": 8, "hidden": 16, "n_layer": 2},
}


def small(name: str, seed: int = 0) -> GPT | CharRNN:
    torch.manual_seed(seed)
    model = get(name).build(CONFIGS[name])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def tokens(batch: int, t: int, seed: int) -> torch.Tensor:
    return torch.randint(V, (batch, t), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", CONFIGS)
@torch.no_grad()
def test_incremental_equals_parallel(name: str) -> None:
    model = small(name)
    x = tokens(3, 12, 1)
    parallel = model.dists(x).logits  # (B, T, V), normalised
    cur = model.start(3)
    for t in range(12):
        torch.testing.assert_close(cur.dist().logits, parallel[:, t], atol=1e-5, rtol=1e-5)
        cur.push(x[:, t])
    assert cur.done


@pytest.mark.parametrize("name", CONFIGS)
@torch.no_grad()
def test_causality(name: str) -> None:
    model = small(name)
    x = tokens(2, 12, 2)
    base = model.dists(x).logits
    for t in range(12):
        x2 = x.clone()
        x2[:, t:] = (x2[:, t:] + 1 + tokens(2, 12 - t, 10 + t) % (V - 1)) % V  # every x_s, s >= t, differs
        torch.testing.assert_close(model.dists(x2).logits[:, : t + 1], base[:, : t + 1])
        if t + 1 < 12:
            assert not torch.allclose(model.dists(x2).logits[:, t + 1], base[:, t + 1])


@pytest.mark.parametrize("name", CONFIGS)
def test_fast_cursor_samples_equal_naive(name: str) -> None:
    model = small(name)
    for policy in (SamplingPolicy(), SamplingPolicy(temperature=0.8, top_k=5, top_p=0.9)):
        fast = [s.value for s in generate(model, batch=4, seed=3, policy=policy)]
        naive = [s.value for s in generate(model, batch=4, seed=3, policy=policy, cursor=NaiveCursor(model, 4))]
        assert all((a == b).all() for a, b in zip(fast, naive)) and len(fast) == 12


@pytest.mark.parametrize("name", CONFIGS)
@torch.no_grad()
def test_prefill_and_select_match_pushes(name: str) -> None:
    model = small(name)
    x = tokens(3, 12, 4)
    one = model.start(3)
    for t in range(5):
        one.push(x[:, t])
    fast = model.start(3)
    fast.prefill(x[:, :5])
    assert fast.t == 5 and torch.equal(fast.x, one.x)
    torch.testing.assert_close(fast.dist().logits, one.dist().logits, atol=1e-5, rtol=1e-5)
    rows = torch.tensor([2, 0])
    fast.select(rows)
    fast.push(x[rows, 5])
    ref = model.dists(x[rows]).logits[:, 6]
    torch.testing.assert_close(fast.dist().logits, ref, atol=1e-5, rtol=1e-5)
    full = model.start(1)
    full.prefill(x[0])  # a whole-context prompt: nothing is left to predict
    assert full.done and torch.equal(full.x[0], x[0])


@pytest.mark.parametrize("name", CONFIGS)
def test_context_limits_are_clear(name: str) -> None:
    model = small(name)
    with pytest.raises(ContextTooLongError, match="longer than this model's context of 12"):
        model.dists(tokens(1, 13, 0))
    cur = model.start(1)
    cur.prefill(tokens(1, 10, 0))
    with pytest.raises(ContextTooLongError, match="13 tokens"):
        cur.prefill(tokens(1, 3, 0))
    with pytest.raises(ValueError, match="token ids must lie in 0..10"):
        model.dists(torch.tensor([[V]]))


@torch.no_grad()
def test_gpt_attention_of_the_current_token() -> None:
    model = small("gpt")
    x = tokens(2, 12, 5)
    cur = model.start(2)
    att = cur.last_attention
    assert len(att) == 2 and att[0].shape == (2, 2, 1)  # the BOS query sees itself only
    cur.prefill(x[:, :4])
    for t in range(4, 8):
        att = cur.last_attention
        assert all(a.shape == (2, 2, t + 1) for a in att)  # keys BOS, x_0 .. x_{t-1}
        assert all(abs(a.sum(-1) - 1).max() < 1e-5 for a in att)
        cur.push(x[:, t])
    # the weights equal an explicit recomputation on the whole prefix
    logits, weights = model(torch.cat([torch.full((2, 1), model.bos), x[:, :8]], 1), need_weights=True)
    torch.testing.assert_close(torch.as_tensor(cur.last_attention[1]), weights[1][:, :, -1], atol=1e-5, rtol=1e-5)


def test_kv_cache_is_explicit() -> None:
    cache = KVCache(n_layer=2, batch=3, n_head=2, max_len=4, head_size=5)
    k = torch.randn(3, 2, 2, 5)
    ka, va = cache.append(0, k, k + 1)
    assert ka.shape == (3, 2, 2, 5) and torch.equal(ka, k) and cache.pos == 0
    cache.advance(2)
    cache.select(torch.tensor([1]))
    assert cache.k[0].shape == (1, 2, 4, 5) and torch.equal(cache.k[0][0, :, :2], k[1])
    with pytest.raises(ValueError, match="holds 4 positions"):
        cache.append(0, torch.randn(1, 2, 3, 5), torch.randn(1, 2, 3, 5))


@pytest.mark.parametrize("name", CONFIGS)
def test_checkpoint_round_trip_is_self_contained(name: str, tmp_path) -> None:
    ds = text_dataset("tiny", pydoc_text()[:40_000], "char" if name == "char_rnn" else "bpe", seq_len=12,
                      bpe_vocab=300)
    torch.manual_seed(0)
    model = get(name).build({**CONFIGS[name], **ds.model_config()}).eval()
    path = save_checkpoint(tmp_path / "m.safetensors", model,
                           CheckpointMeta(kind=name, config=model.spec.config, data=ds.meta()))
    loaded, meta = load_checkpoint(path)
    x = ds.test[:2]
    with torch.no_grad():
        torch.testing.assert_close(loaded.log_prob(x), model.log_prob(x))
    tok = tokenizer_from_config(meta.config["tokenizer"])  # the checkpoint carries its tokenizer
    assert tok.encode("return x") == ds.tokenizer.encode("return x")
    loaded.set_labels(tok.labels())
    view = loaded.start(1).dist().view()
    assert view.labels is not None and len(view.labels) == tok.vocab_size


@pytest.mark.parametrize("name", CONFIGS)
def test_training_lowers_the_loss(name: str) -> None:
    ds = text_dataset("tiny", pydoc_text()[:40_000], "char", seq_len=12)
    torch.manual_seed(0)
    model = get(name).build({**CONFIGS[name], **ds.model_config()})
    trainer = Trainer(model, ds, TrainConfig(steps=40, batch_size=16, lr=1e-2, eval_every=40))
    before = trainer.evaluate("valid")["nats"]
    trainer.run()
    assert trainer.evaluate("valid")["nats"] < before - 1.0


@pytest.mark.parametrize("name", CONFIGS)
def test_score_text_and_prompts(name: str) -> None:
    from arstudio.data.text import PromptError, encode_prompt, score_text

    ds = text_dataset("tiny", pydoc_text()[:40_000], "char", seq_len=12)
    torch.manual_seed(0)
    model = get(name).build({**CONFIGS[name], **ds.model_config()}).eval()
    text = "return the value of x + y, or None"
    r = score_text(model, ds.tokenizer, text)  # 34 characters: three windows of 12
    assert r["windows"] == 3 and len(r["log_probs"]) == len(text) == len(r["tokens"])
    x = torch.tensor([ds.tokenizer.encode(text[:12])])
    torch.testing.assert_close(torch.as_tensor(r["log_probs"][:12]), model.log_prob(x)[0].detach())
    assert r["bits_per_char"] == pytest.approx(r["bits_per_token"])
    assert encode_prompt(ds.tokenizer, "", 12, 12) == []  # an empty prompt starts from BOS
    with pytest.raises(PromptError, match="outside this model's vocabulary: '☃'"):
        encode_prompt(ds.tokenizer, "x ☃", 12)
    with pytest.raises(PromptError, match="longer than this model's context of 12"):
        encode_prompt(ds.tokenizer, "return x", 12, new_tokens=5)
    with pytest.raises(PromptError, match="no text"):
        score_text(model, ds.tokenizer, "")
