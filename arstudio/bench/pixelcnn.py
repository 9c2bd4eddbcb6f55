"""Cached PixelCNN / Gated PixelCNN cursors against ``NaiveCursor`` on 28x28 (issue 3; floor 5x at batch 16).

For each kind and batch size both cursors sample from the same seed with the same weights. The
naive cursor reruns the whole network on the whole image at every step, so its cost per step is
the same at every pixel: it is timed on the first steps, within a time budget. The cached cursor
(Ramachandran et al. 2017) is timed on the whole image, every row's vertical-stack update
included. The first steps of both must hold identical samples, and the cached cursor's whole image
must match a replay of the seed's draws through one parallel pass (by causality, what the naive
cursor would draw); the result says so in its notes and settings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from arstudio.bench.registry import BenchOptions, register_bench
from arstudio.bench.result import BenchResult, Figure
from arstudio.core import catalog
from arstudio.core.checkpoint import load_checkpoint
from arstudio.core.generate import make_generator
from arstudio.core.policy import SamplingPolicy
from arstudio.core.protocol import ARModel, Cursor, NaiveCursor
from arstudio.core.registry import get as get_kind

SEED = 0
KINDS = ("pixelcnn", "gated_pixelcnn")
TITLES = {"pixelcnn": "PixelCNN cached cursor", "gated_pixelcnn": "Gated PixelCNN cached cursor"}


def _run(cur: Cursor, steps: int, policy: SamplingPolicy, budget_s: float | None = None) -> tuple[int, float]:
    """Sample up to ``steps`` steps from seed SEED (fewer once ``budget_s`` has passed): (steps taken, seconds)."""
    gen = make_generator(SEED)
    t0 = time.perf_counter()
    for k in range(steps):
        if budget_s is not None and k > 0 and time.perf_counter() - t0 > budget_s:
            return k, time.perf_counter() - t0
        cur.push(cur.dist().sample(gen, policy))
    return steps, time.perf_counter() - t0


def _replay_matches(model: ARModel, x: torch.Tensor, cond: Any, policy: SamplingPolicy) -> bool:
    """Would ``NaiveCursor`` have drawn all of x? One parallel pass gives every step's distribution given
    x_<t (causality), so replaying the seed's draws through them is what the naive cursor draws."""
    dist, gen = model.dists(x, cond), make_generator(SEED)
    return all(bool(torch.equal(dist[:, t].sample(gen, policy), x[:, t])) for t in range(x.shape[1]))


def _model(kind: str, checkpoint: str | None, shape: Sequence[int]) -> ARModel:
    if checkpoint is not None:
        model, _ = load_checkpoint(checkpoint)
        return model.eval()
    torch.manual_seed(SEED)
    return get_kind(kind).build({"shape": list(shape)}).eval()


@torch.no_grad()
def bench_pixelcnn_cache(kinds: Sequence[str] = KINDS, batches: Sequence[int] = (1, 16),
                         shape: Sequence[int] = (1, 28, 28), checkpoints: dict[str, str] | None = None,
                         naive_budget_s: float = 3.0, quick: bool = False) -> list[BenchResult]:
    """steps/s of the cached cursor vs ``NaiveCursor`` for each kind and batch, with a same-samples check.

    ``checkpoints`` maps a kind to a checkpoint to load (else the default config with seeded
    random weights, which samples just as fast); ``quick`` times a few steps only (a smoke run).
    """
    policy = SamplingPolicy()
    out = []
    for kind in kinds:
        model = _model(kind, (checkpoints or {}).get(kind), shape)
        length = model.layout.length
        n_classes = model.spec.cond.get("classes", 0)
        for batch in batches:
            cond = torch.arange(batch, device=model.device) % n_classes if n_classes else None
            _run(NaiveCursor(model, batch, cond), 2, policy)  # warm-up
            naive = NaiveCursor(model, batch, cond)
            k, naive_s = _run(naive, length, policy, 0.2 if quick else naive_budget_s)
            fast_steps = k if quick else length
            fast = model.start(batch, cond)
            _, fast_s = _run(fast, fast_steps, policy)
            identical = bool(torch.equal(fast.x[:, :k], naive.x[:, :k]))
            replayed = fast_steps == length and _replay_matches(model, fast.x, cond, policy)
            settings: dict[str, Any] = {
                "batch": batch, "length": length, "naive_steps_timed": k, "cached_steps_timed": fast_steps,
                "steps_compared": k, "identical": identical, "whole_image_replay_identical": replayed,
                "threads": torch.get_num_threads(),
                "device": str(model.device), "shape": list(model.layout.shape), "seed": SEED,
                "parameters": model.num_parameters(), "checkpoint": (checkpoints or {}).get(kind),
                "config": {key: v for key, v in model.spec.config.items() if key != "values"}}
            size = "x".join(str(s) for s in model.layout.shape[1:])
            out.append(BenchResult(
                name=f"{kind}-cache", compares=f"{TITLES.get(kind, kind)} vs NaiveCursor, {size}, batch {batch}",
                ours=Figure(TITLES.get(kind, kind), fast_steps / fast_s, "steps/s"),
                baseline=Figure("NaiveCursor", k / naive_s, "steps/s"), settings=settings,
                floor=5.0 if batch == 16 else None,
                notes=(f"same samples as NaiveCursor on the first {k} steps, same seed"
                       if identical else f"SAMPLES DIFFER from NaiveCursor within the first {k} steps")
                + ("; whole image matches a replay of the parallel pass" if replayed else "")))
    return out


@register_bench("pixelcnn-cache", "cached PixelCNN / Gated PixelCNN cursors vs NaiveCursor on 28x28 (floor 5x at batch 16)")
def pixelcnn_cache(opts: BenchOptions) -> list[BenchResult]:
    """Both kinds at batch 1 and 16, with the shipped glyphs28 checkpoints where they exist."""
    shipped = {k: p for k in KINDS if (p := catalog.SHIPPED_DIR / f"{k}-glyphs28.safetensors").exists()}
    return bench_pixelcnn_cache(checkpoints={k: str(p) for k, p in shipped.items()},
                                naive_budget_s=1.0 if opts.quick else 3.0, quick=opts.quick)
