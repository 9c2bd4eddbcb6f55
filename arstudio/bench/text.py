"""GPT decoding: KV cache vs recomputing the prefix, and ours vs ``transformers`` on the same GPT-2 weights.

Both comparisons decode greedily at batch 1 with the same weights and thread count, and check
that both sides wrote the same tokens.

- ``gpt-kv-cache``: our KV-cache cursor against re-running the network on the whole prefix for
  every new token (the nanoGPT ``generate``), at 256 and 1,024 new tokens (issue 4's floors: 4x
  and 10x).
- ``gpt-vs-transformers``: a random GPT-2 written by ``transformers`` (``save_pretrained``), read
  by our GPT-2 importer; our tokens/s against ``GPT2LMHeadModel.generate(use_cache=True)``
  (floor 1.0x).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from arstudio.bench.registry import BenchOptions, BenchSkipped, register_bench
from arstudio.bench.result import BenchResult, Figure
from arstudio.core.policy import GREEDY
from arstudio.models.gpt import GPT

# A GPT-2-shaped model big enough for the context lengths asked for, small enough for a CPU bench.
CONFIG = {"vocab_size": 1024, "block_size": 1025, "n_layer": 4, "n_head": 4, "n_embd": 256}
QUICK = {"vocab_size": 256, "block_size": 65, "n_layer": 2, "n_head": 2, "n_embd": 64}


@torch.no_grad()
def decode_kv_cache(model: GPT, n: int) -> tuple[list[int], float]:
    """Greedy decoding of ``n`` tokens after BOS with the KV-cache cursor: (tokens, seconds)."""
    t0 = time.perf_counter()
    cur = model.start(1, record_attention=False)
    out = []
    for _ in range(n):
        tok = cur.dist().sample(None, GREEDY)
        cur.push(tok)
        out.append(int(tok))
    return out, time.perf_counter() - t0


@torch.no_grad()
def decode_recompute(model: GPT, n: int) -> tuple[list[int], float]:
    """Greedy decoding that re-runs the network over [BOS, x_0 .. x_{t-1}] for every token t."""
    t0 = time.perf_counter()
    idx = torch.full((1, 1), model.bos, dtype=torch.long, device=model.device)  # (1, t+1)
    out = []
    for _ in range(n):
        logits, _ = model(idx, last_only=True)  # (1, 1, V)
        tok = int(logits[0, -1].argmax())
        out.append(tok)
        idx = torch.cat([idx, torch.tensor([[tok]], device=idx.device)], dim=1)
    return out, time.perf_counter() - t0


def _settings(model: GPT, n: int, what: str) -> dict:
    return {"batch": 1, "length": n, "threads": torch.get_num_threads(), "device": str(model.device),
            "parameters": model.num_parameters(), "config": {k: v for k, v in model.spec.config.items()
                                                             if k != "tokenizer"}, "model": what}


@register_bench("gpt-kv-cache", "GPT KV-cache decoding vs recomputing the prefix, 256 and 1,024 tokens (floors 4x, 10x)")
def gpt_kv_cache(opts: BenchOptions) -> list[BenchResult]:
    """Both decoders on one random GPT (greedy, batch 1); the tokens must be the same."""
    torch.manual_seed(0)
    model = GPT.from_config(QUICK if opts.quick else CONFIG).eval()
    lengths = ((16, 4.0), (64, 10.0)) if opts.quick else ((256, 4.0), (1024, 10.0))
    decode_kv_cache(model, 8)  # warm-up
    out = []
    for n, floor in lengths:
        fast, t_fast = decode_kv_cache(model, n)
        slow, t_slow = decode_recompute(model, n)
        if fast != slow:
            raise RuntimeError(f"KV-cache and recompute decoding wrote different tokens at {n} tokens")
        out.append(BenchResult(
            name="gpt-kv-cache", compares=f"GPT KV-cache cursor vs recompute-the-prefix, {n} new tokens",
            ours=Figure("KV cache", n / t_fast, "tokens/s"), baseline=Figure("recompute prefix", n / t_slow, "tokens/s"),
            settings={**_settings(model, n, "random GPT-2-shaped"), "same_tokens": True}, floor=floor))
    return out


def _hf_pair(quick: bool, folder: Path) -> tuple[object, GPT]:
    """A random ``GPT2LMHeadModel`` saved to ``folder`` and our GPT read from the same files."""
    try:
        import transformers
    except ImportError:
        raise BenchSkipped("transformers is not installed (pip install '.[test]')") from None
    from arstudio.models.gpt2_import import load_gpt2

    c = QUICK if quick else CONFIG
    cfg = transformers.GPT2Config(vocab_size=c["vocab_size"], n_positions=c["block_size"], n_embd=c["n_embd"],
                                  n_layer=c["n_layer"], n_head=c["n_head"], bos_token_id=0, eos_token_id=0,
                                  initializer_range=0.2)  # wider than 0.02: greedy argmaxes are no near-ties
    torch.manual_seed(0)
    ref = transformers.GPT2LMHeadModel(cfg).eval()
    ref.save_pretrained(folder)
    ours, _ = load_gpt2(folder, tokenizer=False)
    return ref, ours.eval()


@register_bench("gpt-vs-transformers", "our GPT-2 decoding vs transformers generate(use_cache=True), same weights")
def gpt_vs_transformers(opts: BenchOptions) -> list[BenchResult]:
    """Greedy tokens/s from the same GPT-2 files; the tokens must be the same."""
    n = 32 if opts.quick else 256
    with tempfile.TemporaryDirectory() as tmp:
        ref, ours = _hf_pair(opts.quick, Path(tmp))
        bos = torch.tensor([[ours.bos]])
        kwargs = dict(attention_mask=torch.ones_like(bos), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                      use_cache=True, pad_token_id=ours.bos)
        with torch.no_grad():
            ref.generate(bos, **{**kwargs, "max_new_tokens": 8, "min_new_tokens": 8})  # warm-up
            decode_kv_cache(ours, 8)
            best_ref = best_ours = float("inf")
            for _ in range(2):  # alternate, keep the best of each
                t0 = time.perf_counter()
                theirs = ref.generate(bos, **kwargs)[0, 1:].tolist()
                best_ref = min(best_ref, time.perf_counter() - t0)
                mine, t = decode_kv_cache(ours, n)
                best_ours = min(best_ours, t)
    if mine != theirs:
        raise RuntimeError("our greedy tokens differ from transformers' on the same GPT-2 weights")
    import transformers

    return [BenchResult(
        name="gpt-vs-transformers", compares=f"our KV-cache GPT-2 decoding vs transformers generate, {n} new tokens",
        ours=Figure("arstudio", n / best_ours, "tokens/s"), baseline=Figure("transformers", n / best_ref, "tokens/s"),
        settings={**_settings(ours, n, "random GPT-2 saved by transformers"), "same_tokens": True,
                  "transformers": transformers.__version__}, floor=1.0)]
