"""Music Transformer decoding: the KV cache (relative attention included) vs recomputing the prefix.

The public Music Transformer implementations have no KV cache for relative attention: they run
the network over the whole prefix for every new event. Ours keeps the keys and values and gives
a new event at position t its relative logits from a slice of E_r (``arstudio.nn.relative_attention``).

``music-cache`` decodes greedily at batch 1 with the default config (context 1,024 events), the
same weights and thread count, with the cursor and with the recompute-the-prefix loop, checks that
both wrote the same events, and reports events/s of each after 512 and after 1,024 events (the
first 512 events of the 1,024-event run: both decoders are timed at that point too), for relative
and for absolute attention. The floor is 4x at 1,024 events (issue 14).

The weights are random, widened (N(0, 0.1^2) added, as ``arstudio.testing.build_tiny`` does) so
that the 388 logits of a step are spread out: a near-tie between two events could otherwise go
either way by float rounding, and the same-events check would fail for no fault of either decoder.
"""

from __future__ import annotations

import time
from dataclasses import asdict

import torch

from arstudio.bench.registry import BenchOptions, register_bench
from arstudio.bench.result import BenchResult, Figure
from arstudio.core.policy import GREEDY
from arstudio.models.music_transformer import MusicTransformer, MusicTransformerConfig

CONFIG = {**asdict(MusicTransformerConfig()), "dropout": 0.0}  # the default size (context 1,024 events)
QUICK = {"vocab": 388, "length": 64, "d_model": 32, "n_layers": 2, "n_heads": 4, "d_ff": 64, "dropout": 0.0}
LENGTHS = ((512, None), (1024, 4.0))  # (events, floor)
QUICK_LENGTHS = ((16, None), (64, None))
NOISE = 0.1


def music_model(attention: str, config: dict | None = None, seed: int = 0) -> MusicTransformer:
    """A random Music Transformer in eval mode, its weights widened by N(0, NOISE^2)."""
    torch.manual_seed(seed)
    model = MusicTransformer.from_config({**(config or CONFIG), "attention": attention}).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * NOISE)
    return model


@torch.no_grad()
def decode_cached(model: MusicTransformer, n: int, marks: tuple[int, ...] = ()
                  ) -> tuple[list[int], dict[int, float]]:
    """Greedy decoding of ``n`` events with the KV-cache cursor: (events, seconds elapsed after ``marks`` and n)."""
    at: dict[int, float] = {}
    t0 = time.perf_counter()
    cur = model.start(1, record_attention=False)
    out = []
    for i in range(n):
        ev = cur.dist().sample(None, GREEDY)
        cur.push(ev)
        out.append(int(ev))
        if i + 1 in marks or i + 1 == n:
            at[i + 1] = time.perf_counter() - t0
    return out, at


@torch.no_grad()
def decode_recompute(model: MusicTransformer, n: int, marks: tuple[int, ...] = ()
                     ) -> tuple[list[int], dict[int, float]]:
    """Greedy decoding that re-runs the network over [S, x_0 .. x_{t-1}] for every event t (no cache)."""
    at: dict[int, float] = {}
    t0 = time.perf_counter()
    idx = torch.full((1, 1), model.bos, dtype=torch.long, device=model.device)  # (1, t+1)
    out = []
    for i in range(n):
        logits, _ = model(idx, last_only=True)  # (1, 1, V)
        ev = int(logits[0, -1].argmax())
        out.append(ev)
        if i + 1 in marks or i + 1 == n:
            at[i + 1] = time.perf_counter() - t0
        if i + 1 < n:
            idx = torch.cat([idx, torch.tensor([[ev]], device=idx.device)], dim=1)
    return out, at


def bench_music(model: MusicTransformer, lengths: tuple[tuple[int, float | None], ...]) -> list[BenchResult]:
    """Both decoders on ``model`` up to the longest of ``lengths``; one result per length (same events checked)."""
    attention = model.config.attention
    marks = tuple(n for n, _ in lengths)
    n = max(marks)
    decode_cached(model, 8)  # warm-up
    decode_recompute(model, 8)
    fast, t_fast = decode_cached(model, n, marks)
    slow, t_slow = decode_recompute(model, n, marks)
    out = []
    for k, floor in lengths:
        if fast[:k] != slow[:k]:
            first = next(i for i, (a, b) in enumerate(zip(fast, slow)) if a != b)
            raise RuntimeError(f"KV-cache and recompute decoding ({attention} attention) wrote different events "
                               f"from event {first} on")
        out.append(BenchResult(
            name="music-cache",
            compares=f"Music Transformer ({attention} attention) KV-cache cursor vs recompute-the-prefix, {k} events",
            ours=Figure("KV cache", k / t_fast[k], "events/s"),
            baseline=Figure("recompute prefix", k / t_slow[k], "events/s"),
            settings={"batch": 1, "events": k, "attention": attention, "threads": torch.get_num_threads(),
                      "device": str(model.device), "parameters": model.num_parameters(),
                      "config": dict(model.spec.config), "model": f"random, weights + N(0, {NOISE}^2)",
                      "same_events": True, "policy": "greedy"},
            floor=floor, notes=f"the first {k} events of one {n}-event run of each decoder" if k < n else ""))
    return out


@register_bench("music-cache", "Music Transformer KV cache (relative and absolute attention) vs recomputing the "
                               "prefix, 512 and 1,024 events (floor 4x at 1,024)")
def music_cache(opts: BenchOptions) -> list[BenchResult]:
    """Greedy decoding at batch 1 on the default-sized model, relative then absolute attention."""
    config, lengths = (QUICK, QUICK_LENGTHS) if opts.quick else (CONFIG, LENGTHS)
    out = []
    for attention in ("relative", "absolute"):
        out += bench_music(music_model(attention, config), lengths)
    return out
