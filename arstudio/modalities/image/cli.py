"""The image modality's halves of ``arstudio sample`` and ``arstudio eval``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import arstudio
from arstudio.modalities import add_once, policy_from_args


def add_cli_args(command: str, parser: argparse.ArgumentParser) -> None:
    """``sample --ordering K`` (order-agnostic models); ``eval --marginal`` (class-conditional models)."""
    if command == "sample":
        add_once(parser, "--ordering", type=int, metavar="K", help="image models: follow ordering K (order-agnostic models)")
    elif command == "eval":
        add_once(parser, "--marginal", action="store_true",
                 help="class-conditional models: also -log sum_c p(c) p(x|c), the NLL to compare with "
                      "unconditional models (one pass per class)")


def sample_grid(args: argparse.Namespace, path: Path, model: Any, meta: Any) -> dict[str, str]:
    """N samples, written as one PNG grid that records its replay recipe."""
    from arstudio.core.checkpoint import file_hash
    from arstudio.core.generate import sample
    from arstudio.core.replay import recipe_for_run
    from arstudio.io.export import export_samples
    from arstudio.train.progress import ProgressBar

    from arstudio.core.replay import MAX_SAMPLES

    if not 1 <= args.n <= MAX_SAMPLES:
        raise ValueError(f"--n must be between 1 and {MAX_SAMPLES}, got {args.n}")
    policy = policy_from_args(args)
    if getattr(args, "ordering", None) is not None:
        model.select_ordering(args.ordering)
    with ProgressBar(model.layout.length, f"sample {args.n} images", unit="steps") as bar:
        x = sample(model, batch=args.n, policy=policy, seed=args.seed,
                   on_step=lambda s: bar.update(s.t + 1)).cpu().numpy()
    recipe = recipe_for_run(path, kind=meta.kind, modality=model.spec.layout.modality, seed=args.seed,
                            batch=args.n, policy=policy, ordering=int(getattr(model, "ordering", 0)),
                            software=f"arstudio {arstudio.__version__}", sha256=file_hash(path))
    text = recipe.to_text()  # how it was made, so that `arstudio replay` can make it again
    export_samples(args.out, model.spec, x, text)
    return text
