"""``arstudio compare A B``: two checkpoints of one modality sampled side by side, step by step.

Both models run the core's one generation loop in lockstep from the same seed and policy (each
draws exactly what it would alone); per step, the KL between their full distributions and the
log p each gave the value it drew. The studio's Compare window calls the same functions
(``arstudio.train.compare``). Errors (different modalities, tokenizers, shapes) are one line.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

DESCRIPTION = (
    "Sample checkpoints A and B side by side from one seed and policy (each draws what it would alone) and "
    "print, per step, KL(p_A || p_B) between their full distributions in nats (mean, max and its step) and "
    "log p_A(x_A) - log p_B(x_B), the log p each model gave the value it drew (mean and mean absolute value). "
    "Both must be of one modality; text models must share a tokenizer and compare up to the shorter context.")


def add_parser(sub: Any) -> None:
    """Add the ``compare`` subcommand to ``arstudio``'s subparsers."""
    s = sub.add_parser("compare", help="compare two checkpoints step by step: per-step KL and log p differences",
                       description=DESCRIPTION)
    s.add_argument("a", metavar="A", help="checkpoint A: a .safetensors path, a checkpoint name or a model folder")
    s.add_argument("b", metavar="B", help="checkpoint B, of the same modality as A")
    s.add_argument("--steps", type=int, metavar="N", help="compare the first N steps (default: every step both write)")
    s.add_argument("--n", type=int, default=4, metavar="B", help="samples per model (default 4)")
    s.add_argument("--seed", type=int, default=0, help="one seed drives both models (default 0)")
    s.add_argument("--temperature", type=float, default=1.0, help="sampling temperature for both; 0 means greedy")
    s.add_argument("--top-k", type=int, default=0, help="keep the k likeliest values (0: off)")
    s.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1: off)")
    s.add_argument("--json", action="store_true", help="one JSON object instead of text")
    s.add_argument("--device", help="cpu, cuda ... (default: CUDA if present)")
    s.set_defaults(func=cmd_compare)


def _num(v: float) -> float | None:
    """A float for JSON (None where it is not finite)."""
    return float(v) if math.isfinite(v) else None


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare checkpoints A and B and print the summary (text, or one JSON object with --json)."""
    from arstudio.core.catalog import resolve
    from arstudio.core.device import choose_device
    from arstudio.core.modality import step_unit
    from arstudio.core.policy import SamplingPolicy
    from arstudio.train.compare import compare_steps, open_pair, summarize
    from arstudio.train.progress import ProgressBar

    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"--steps must be at least 1, got {args.steps}")
    policy = SamplingPolicy(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
    pa, pb = resolve(args.a), resolve(args.b)
    pair = open_pair(pa, pb, choose_device(args.device), args.steps)
    compared = []
    with ProgressBar(pair.steps, "compare", unit="steps") as bar:
        for c in compare_steps(pair.a, pair.b, args.n, args.seed, policy, steps=pair.steps):
            compared.append(c)
            bar.update(c.t + 1)
    s = summarize(compared)
    unit = step_unit(pair.modality)
    if args.json:
        row: dict[str, Any] = {
            "a": str(pa), "b": str(pb), "kind_a": pair.meta_a.kind, "kind_b": pair.meta_b.kind,
            "modality": pair.modality, "step_unit": unit, "seed": args.seed, "policy": policy.to_dict(),
            **{k: (_num(v) if isinstance(v, float) else v) for k, v in s.to_dict().items()}}
        print(json.dumps(row, sort_keys=True))
        return 0
    first = "never" if s.first_difference is None else f"first at step {s.first_difference}"
    print(f"A: {pa} ({pair.meta_a.kind})")
    print(f"B: {pb} ({pair.meta_b.kind})")
    print(f"modality: {pair.modality}; {s.steps} steps ({unit}s) compared, {s.batch} samples each, seed {args.seed}, "
          f"temperature {args.temperature:g}" + (f", top-k {args.top_k}" if args.top_k else "")
          + (f", top-p {args.top_p:g}" if args.top_p < 1 else ""))
    print(f"KL(A || B) per {unit}: mean {s.kl_mean:.4f} nats, max {s.kl_max:.4f} nats at step {s.kl_max_step}")
    print(f"log p_A(x_A) - log p_B(x_B) per {unit}: mean {s.dlogp_mean:+.4f} nats, mean |.| {s.dlogp_abs_mean:.4f} "
          f"nats (log p_A(x_A) {s.logp_a:.4f}, log p_B(x_B) {s.logp_b:.4f} nats per {unit})")
    print(f"samples: the same value {s.agree:.1%} of the time; they differ {first}")
    return 0
