"""Fast cursors against ``NaiveCursor``: sampling steps/s on the same weights, in the same run.

Each measurement samples with the model's own cursor and with ``NaiveCursor`` (which recomputes
the parallel model on the whole prefix at every step) from the same seed, checks that both drew
the same values, and reports steps/s of each. The naive cursor costs the same at every step, so
on large images it is timed on the first steps only, within a time budget, and the fast cursor
on exactly those steps; each is timed several times, alternately, and its best rate kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from arstudio.bench.registry import BenchOptions, register_bench
from arstudio.bench.result import BenchResult, Figure
from arstudio.core.generate import make_generator
from arstudio.core.policy import SamplingPolicy
from arstudio.core.protocol import ARModel, Cursor, NaiveCursor
from arstudio.core.registry import get as get_kind

SEED = 0
BATCHES = (1, 16)


def _steps(cur: Cursor, n: int, gen: torch.Generator, policy: SamplingPolicy, budget_s: float | None = None) -> int:
    """Sample ``n`` steps (or fewer, once ``budget_s`` has passed); return how many were taken."""
    t0 = time.perf_counter()
    for k in range(n):
        if budget_s is not None and k > 0 and time.perf_counter() - t0 > budget_s:
            return k
        cur.push(cur.dist().sample(gen, policy))
    return n


def _rate(make: Callable[[], Cursor], k: int, min_time_s: float) -> tuple[float, Cursor]:
    """steps/s of ``k`` steps from a fresh cursor and seed, repeated until ``min_time_s`` has passed."""
    steps, seconds, first = 0, 0.0, None
    while first is None or seconds < min_time_s:
        cur = make()
        t0 = time.perf_counter()
        _steps(cur, k, make_generator(SEED), SamplingPolicy())
        seconds, steps = seconds + time.perf_counter() - t0, steps + k
        if first is None:
            first = cur
    return steps / seconds, first


@torch.no_grad()
def compare_cursors(model: ARModel, batch: int, budget_s: float, min_time_s: float, repeats: int = 3
                    ) -> dict[str, Any]:
    """steps/s of the model's cursor and of ``NaiveCursor``, and whether they sampled the same values.

    The naive cursor runs for up to ``budget_s`` (or the whole layout); both are then timed on
    those k steps, alternately, ``repeats`` times, and the best rate of each is kept: on a shared
    machine the best run is the one least disturbed by other work.
    """
    policy = SamplingPolicy()
    length = model.layout.length
    _steps(NaiveCursor(model, batch), min(2, length), make_generator(SEED), policy)  # warm-up
    _steps(model.start(batch), min(2, length), make_generator(SEED), policy)
    naive = NaiveCursor(model, batch)
    t0 = time.perf_counter()
    k = _steps(naive, length, make_generator(SEED), policy, budget_s)
    naive_rates = [k / (time.perf_counter() - t0)]
    fast_rate, fast = _rate(lambda: model.start(batch), k, min_time_s)
    fast_rates = [fast_rate]
    for _ in range(repeats - 1):
        naive_rates.append(_rate(lambda: NaiveCursor(model, batch), k, 0.0)[0])
        fast_rates.append(_rate(lambda: model.start(batch), k, min_time_s)[0])
    return {"fast": max(fast_rates), "naive": max(naive_rates), "identical": bool(torch.equal(fast.x, naive.x)),
            "steps_timed": k, "length": length, "repeats": repeats}


def _bench_kind(kind: str, title: str, sizes: list[tuple[list[int], dict[str, Any]]], opts: BenchOptions
                ) -> list[BenchResult]:
    mk = get_kind(kind)
    budget, min_time, repeats = (0.05, 0.02, 1) if opts.quick else (0.6, 0.3, 3)
    out = []
    for shape, config in (sizes[:1] if opts.quick else sizes):
        torch.manual_seed(SEED)
        model = mk.build({**config, "shape": shape}).eval()
        if kind == "fvsbn":  # FVSBN starts from zero weights: give it some, so that samples vary
            with torch.no_grad():
                model.weight.normal_(0.0, 0.3)
        size = f"{shape[1]}x{shape[2]}"
        for batch in BATCHES:
            r = compare_cursors(model, batch, budget, min_time, repeats)
            settings = {"batch": batch, "length": r["length"], "steps_timed": r["steps_timed"],
                        "threads": torch.get_num_threads(), "device": str(model.device), "shape": shape,
                        "config": {k: v for k, v in model.spec.config.items() if k not in ("values", "levels")},
                        "parameters": model.num_parameters(), "identical": r["identical"], "seed": SEED,
                        "repeats": r["repeats"]}
            out.append(BenchResult(
                name=f"{kind}-cursor", compares=f"{title} vs NaiveCursor, {size}, batch {batch}",
                ours=Figure(f"{title}", r["fast"], "steps/s"), baseline=Figure("NaiveCursor", r["naive"], "steps/s"),
                settings=settings,
                notes="same samples on the same seed" if r["identical"] else "SAMPLES DIFFER from NaiveCursor"))
    return out


@register_bench("nade-cursor", "NADE's O(H) incremental cursor vs recomputing the prefix (NaiveCursor)")
def nade_cursor(opts: BenchOptions) -> list[BenchResult]:
    """NADE at 8x8 (the shipped size) and 28x28 (MNIST size, where the O(D) saving shows)."""
    return _bench_kind("nade", "NADE incremental cursor",
                       [([1, 8, 8], {"hidden": 128}), ([1, 28, 28], {"hidden": 500})], opts)


@register_bench("fvsbn-cursor", "FVSBN's running-logits cursor vs NaiveCursor")
def fvsbn_cursor(opts: BenchOptions) -> list[BenchResult]:
    """FVSBN at 8x8 and 28x28."""
    return _bench_kind("fvsbn", "FVSBN running-logits cursor", [([1, 8, 8], {}), ([1, 28, 28], {})], opts)


@register_bench("made-cursor", "MADE's cached first layer vs NaiveCursor")
def made_cursor(opts: BenchOptions) -> list[BenchResult]:
    """MADE at 8x8 (shipped config) and 28x28 with two hidden layers of 500."""
    return _bench_kind("made", "MADE cached-first-layer cursor",
                       [([1, 8, 8], {"hidden": [256, 256], "num_masks": 1}),
                        ([1, 28, 28], {"hidden": [500, 500], "num_masks": 1})], opts)
