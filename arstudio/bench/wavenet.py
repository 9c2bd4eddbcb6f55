"""Fast WaveNet generation (Paine et al. 2016 queues) against ``NaiveCursor``, and against real time (issue 13).

One run, one model of 2 stacks x 10 layers (dilations 1..512, the default channels, a voice and a
log-mel as conditioning), batch 1:

- ``wavenet-fast``: samples/s of the queue cursor vs ``NaiveCursor`` (floor 20x). The naive cursor
  reruns the whole network over the whole layout at every step, so its cost per step is the same
  at every sample: it is timed on the first steps, within a time budget, on a layout of one second
  (16,000 samples; the shipped model's layout is 10 s, where naive is ten times slower still). The
  first steps of both must hold identical samples, and the fast cursor's whole second must match a
  replay of the seed's draws through one parallel pass (by causality, what the naive cursor draws).
- ``wavenet-realtime``: the fast cursor's samples/s against real time at the model's rate; the
  issue's floor of 1,000 samples/s is the ratio 1000 / 16000.

The weights are the shipped checkpoint's when there is one (a WaveNet's weights do not depend on its
layout length), else seeded random ones, which sample just as fast.
"""

from __future__ import annotations

import time
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
SHIPPED = "wavenet-speech16k.safetensors"
FLOOR_RATIO = 20.0  # fast vs naive (issue 13)
FLOOR_RATE = 1000.0  # fast samples/s at batch 1 (issue 13)


def _run(cur: Cursor, steps: int, policy: SamplingPolicy, budget_s: float | None = None
         ) -> tuple[int, float, float]:
    """Sample up to ``steps`` steps from seed SEED (fewer once ``budget_s`` has passed).

    Returns (steps taken, wall seconds, this process's CPU seconds): on a busy machine the second
    shows what the first would be with a core to itself.
    """
    gen = make_generator(SEED)
    t0, c0 = time.perf_counter(), time.process_time()
    for k in range(steps):
        if budget_s is not None and k > 0 and time.perf_counter() - t0 > budget_s:
            return k, time.perf_counter() - t0, time.process_time() - c0
        cur.push(cur.dist().sample(gen, policy))
    return steps, time.perf_counter() - t0, time.process_time() - c0


def _replay_matches(model: ARModel, x: torch.Tensor, cond: Any, policy: SamplingPolicy) -> bool:
    """Would ``NaiveCursor`` have drawn all of x? One parallel pass gives every step's p(x_t | x_<t)."""
    logits, gen = model.dists(x, cond), make_generator(SEED)
    return all(bool(torch.equal(logits[:, t].sample(gen, policy), x[:, t])) for t in range(x.shape[1]))


def wavenet_model(length: int, config: dict[str, Any] | None = None, checkpoint: str | None = None) -> ARModel:
    """A WaveNet of layout ``length``: the checkpoint's config and weights if given, else the default config."""
    kind = get_kind("wavenet")
    if checkpoint is not None:
        loaded, _ = load_checkpoint(checkpoint)
        model = kind.build({**loaded.spec.config, "length": length})
        model.load_state_dict(loaded.state_dict())
        return model.eval()
    torch.manual_seed(SEED)
    return kind.build({"voices": ["a", "b"], **(config or {}), "length": length}).eval()


@torch.no_grad()
def bench_wavenet(model: ARModel, steps: int, naive_budget_s: float, repeats: int = 1,
                  checkpoint: str | None = None) -> list[BenchResult]:
    """Fast vs naive samples/s at batch 1 on ``steps`` samples, with the same-samples checks, and vs real time."""
    policy = SamplingPolicy()
    cond = model.example_cond(1, torch.Generator().manual_seed(SEED))
    _run(NaiveCursor(model, 1, cond), 2, policy)  # warm-up
    _run(model.start(1, cond), 64, policy)
    naive = NaiveCursor(model, 1, cond)
    k, naive_s, _ = _run(naive, steps, policy, naive_budget_s)
    best_s, best_cpu, fast = float("inf"), float("inf"), None
    for _ in range(repeats):  # on a shared machine the least disturbed run is the best estimate
        cur = model.start(1, cond)
        _, s, cpu = _run(cur, steps, policy)
        best_s, best_cpu, fast = min(best_s, s), min(best_cpu, cpu), fast or cur
    assert fast is not None
    identical = bool(torch.equal(fast.x[:, :k], naive.x[:, :k]))
    replayed = _replay_matches(model, fast.x[:, :steps], cond, policy)
    rate = steps / best_s
    cfg = model.spec.config
    rate_hz = int(cfg["sample_rate"])
    settings: dict[str, Any] = {
        "batch": 1, "length": model.layout.length, "naive_steps_timed": k, "fast_steps_timed": steps,
        "identical": identical, "whole_run_replay_identical": replayed, "threads": torch.get_num_threads(),
        "device": str(model.device), "seed": SEED, "parameters": model.num_parameters(), "checkpoint": checkpoint,
        "receptive_field": getattr(model, "receptive_field", None), "repeats": repeats,
        "fast_samples_per_cpu_second": round(steps / best_cpu) if best_cpu > 0 else None,
        "config": {key: v for key, v in cfg.items() if key != "voices"}, "conditioned": "voice and log-mel"}
    stacks = f"{cfg['stacks']} stacks x {cfg['layers']} layers"
    same = (f"same samples as NaiveCursor on the first {k} steps, same seed" if identical
            else f"SAMPLES DIFFER from NaiveCursor within the first {k} steps")
    same += (f"; all {steps} match a replay of the parallel pass" if replayed
             else f"; the {steps} samples DIFFER from a replay of the parallel pass")
    fast_fig = Figure("Fast WaveNet queues (Paine et al. 2016)", rate, "samples/s")
    return [
        BenchResult(name="wavenet-fast", compares=f"Fast WaveNet queues vs NaiveCursor, {stacks}, "
                    f"{model.layout.length / rate_hz:g} s layout, batch 1",
                    ours=fast_fig, baseline=Figure("NaiveCursor", k / naive_s, "samples/s"),
                    settings=settings, floor=FLOOR_RATIO, notes=same),
        BenchResult(name="wavenet-realtime", compares=f"Fast WaveNet queues vs real time at {rate_hz} Hz, {stacks}, "
                    "batch 1", ours=fast_fig,
                    baseline=Figure(f"real time at {rate_hz} Hz", float(rate_hz), "samples/s"),
                    settings=settings, floor=FLOOR_RATE / rate_hz,
                    notes=(f"{rate / rate_hz:.3f} of real time ({rate:,.0f} samples/s wall clock, "
                           f"{steps / max(best_cpu, 1e-9):,.0f} per CPU second of this process; the floor of "
                           f"{FLOOR_RATE:,.0f} samples/s is {FLOOR_RATE / rate_hz:.4f}); what limits it is the "
                           "dispatch of some 90 small tensor ops per sample on one thread, not arithmetic")),
    ]


@register_bench("wavenet-fast", "Fast WaveNet queues vs NaiveCursor (floor 20x) and vs real time at 16 kHz "
                                "(floor 1,000 samples/s), 2 stacks x 10 layers, batch 1")
def wavenet_fast(opts: BenchOptions) -> list[BenchResult]:
    """One second of audio (a quick run: a few hundred samples), with the shipped weights if present."""
    shipped = catalog.SHIPPED_DIR / SHIPPED
    checkpoint = str(shipped) if shipped.exists() else None
    model = wavenet_model(16000, checkpoint=checkpoint)
    if opts.quick:
        return bench_wavenet(model, 300, 0.2, 1, checkpoint)
    return bench_wavenet(model, 16000, 3.0, 2, checkpoint)
