"""`arstudio eval` of a checkpoint on its recorded held-out split: NLL per example and bits per dimension.

For class-conditional models ``--marginal`` adds -log sum_c p(c) p(x|c), the figure to set beside
an unconditional model's NLL.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def unit(modality: str) -> str:
    """What one held-out example of ``modality`` is ("image", "window" ...), from its plug-in."""
    from arstudio.core.modality import example_unit

    return example_unit(modality)


def dim_unit(modality: str) -> str:
    """What one step of ``modality`` is ("dim" for images, "token" for text), from its plug-in."""
    from arstudio.core.modality import step_unit

    return step_unit(modality)


def split_data(meta: Any, split: str) -> tuple[Any, Any, str]:
    """The held-out examples (and labels) of ``split``, by the indices the checkpoint recorded."""
    from arstudio.data.datasets import get_dataset

    name = meta.data.get("name")
    if not name:
        raise ValueError("the checkpoint does not record its data set, so there is nothing to evaluate on")
    return get_dataset(name).recorded_split(split, meta.data.get("split", {}).get(split))


def eval_checkpoint(args: argparse.Namespace, path: Path, model: Any, meta: Any) -> int:
    """Held-out NLL of a loaded checkpoint on the split it recorded (and the marginal NLL with --marginal)."""
    from arstudio.train.evaluate import eval_batch_size, evaluate, first_examples
    from arstudio.train.progress import ProgressBar

    if meta.extra.get("format") == "huggingface-gpt2":
        raise ValueError(f"{path}: a GPT-2 folder records no held-out split; score a text file with --text FILE")
    x, labels, note = split_data(meta, args.split)
    x, labels, cut = first_examples(x, labels, getattr(args, "limit", None))
    if x.shape[1] != model.spec.layout.length:
        raise ValueError(f"{path.name}: the model has {model.spec.layout.length} steps but {meta.data['name']} "
                         f"examples have {x.shape[1]} values")
    cond = labels if model.spec.cond else None
    modality = model.spec.layout.modality
    with ProgressBar(len(x), f"eval {args.split}", unit=f"{unit(modality)}s") as bar:
        m = evaluate(model, x, cond, batch_size=eval_batch_size(x.shape[1], model.device),
                     progress=lambda n, _: bar.update(n))
    marginal = marginal_nll(args, model, meta, x) if getattr(args, "marginal", False) else None
    recorded = meta.metrics.get(f"{args.split}_nats") if not cut else None
    if args.json:
        row = {"checkpoint": path.stem, "path": str(path), "kind": meta.kind, "modality": modality,
               "data": meta.data["name"], "split": args.split, "n": len(x), "nats": m["nats"],
               "bits_per_dim": m["bits_per_dim"], "unit": f"nats/{unit(modality)}", "recorded_nats": recorded,
               "conditional": cond is not None}
        if marginal is not None:
            row.update(marginal_nats=marginal["nats"], marginal_bits_per_dim=marginal["bits_per_dim"])
        print(json.dumps(row, sort_keys=True))
        return 0
    given = " given the label" if cond is not None else ""
    print(f"{path.stem} ({meta.kind}) on {meta.data['name']} {args.split}, {len(x)} examples{note}{cut}:")
    print(f"  NLL{given} {m['nats']:.3f} nats/{unit(modality)}, {m['bits_per_dim']:.4f} bits/{dim_unit(modality)}"
          + (f"  (recorded at training: {recorded:.3f} nats)" if isinstance(recorded, (int, float)) else ""))
    if marginal is not None:
        print(f"  NLL of the image alone, -log sum_c p(c) p(x|c): {marginal['nats']:.3f} nats/{unit(modality)}, "
              f"{marginal['bits_per_dim']:.4f} bits/dim")
    return 0


def marginal_nll(args: argparse.Namespace, model: Any, meta: Any, x: Any = None) -> dict[str, float]:
    """-log sum_c p(c) p(x | c) on the split (or on ``x``), p(c) the training labels' frequencies.

    Every image is scored under every class, the classes batched into its forward passes.
    """
    import torch

    from arstudio.train.evaluate import evaluate_marginal
    from arstudio.train.progress import ProgressBar

    classes = int(model.spec.cond.get("classes", 0) or 0) if model.spec.cond else 0
    if classes < 1:
        raise ValueError(f"--marginal is for class-conditional models; {meta.kind} is not one")
    if x is None:
        x, _, _ = split_data(meta, args.split)
    _, train_labels, _ = split_data(meta, "train")
    counts = torch.bincount(torch.as_tensor(train_labels).long(), minlength=classes)[:classes].double()
    workers = torch.get_num_threads() if model.device.type == "cpu" else 1  # small passes side by side
    with ProgressBar(len(x), f"marginal over {classes} classes", unit="images") as bar:
        return evaluate_marginal(model, x, torch.log(counts / counts.sum()), progress=lambda n, _: bar.update(n),
                                 workers=workers)
