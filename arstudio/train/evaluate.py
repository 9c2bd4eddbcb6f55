"""Held-out evaluation: mean negative log-likelihood in nats per example and bits per dimension."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from arstudio.core.protocol import ARModel

Progress = Callable[[int, int], None]
"""Called after each batch with (examples done, examples in all)."""

ROW_BUDGET = 1 << 15
"""Values (rows x steps) per forward pass that ``eval_batch_size`` aims at on a CPU: there a conv
net's activations for a few dozen 28x28 images stay in cache, and a batch of 256 images ran 2-3x
slower per image than one of 32 (measured on the shipped Gated PixelCNN)."""
ROW_BUDGET_GPU = 1 << 19  # an accelerator wants large batches


def eval_batch_size(length: int, device: torch.device | str = "cpu") -> int:
    """Rows per forward pass for examples of ``length`` steps on ``device``: a budget of values / length, 16..512."""
    budget = ROW_BUDGET if torch.device(device).type == "cpu" else ROW_BUDGET_GPU
    return max(16, min(512, budget // max(1, int(length))))


def first_examples(x: Any, labels: Any = None, limit: int | None = None) -> tuple[Any, Any, str]:
    """The first ``limit`` examples (and labels) of a split, and a note saying so ("" when all are kept)."""
    if limit is None:
        return x, labels, ""
    if limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    if limit >= len(x):
        return x, labels, ""
    return x[:limit], (labels[:limit] if labels is not None else None), f" (the first {limit} of {len(x)})"


def _in_threads(fn: Callable[[int], Any], items: range, workers: int) -> Iterator[Any]:
    """``fn(i)`` for each i, in order; with ``workers`` > 1 on that many threads, torch's ops one thread each.

    Small batches keep a conv net in cache but leave cores idle within an op; running several at
    once on one core each uses the cores instead (the shipped Gated PixelCNN, 16 glyphs x 36
    classes on 2 cores: 2.9 s so, 4.0 s with both cores in each op, 9.2 s in passes of 576 rows).
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="arstudio-eval")
    try:
        yield from pool.map(fn, items)
    finally:  # an error or Ctrl-C: drop the batches not started, wait for the few running
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(threads)


def _mean_nll(model: ARModel, x: torch.Tensor, nll_of: Callable[[torch.Tensor, int], torch.Tensor],
              batch_size: int, progress: Progress | None = None, workers: int = 1) -> dict[str, float]:
    """Mean of ``nll_of(x batch, its first row)`` [B] over x in batches, in eval mode: nats and bits/dim."""

    def batch(i: int) -> tuple[float, int]:
        with torch.no_grad():  # grad mode is per thread
            xb = x[i:i + batch_size].to(model.device)
            return float(nll_of(xb, i).double().sum()), len(xb)

    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    try:
        for nats, rows in _in_threads(batch, range(0, len(x), batch_size), workers):
            total += nats
            n += rows
            if progress is not None:
                progress(n, len(x))
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("cannot evaluate on an empty set")
    nats = total / n
    return {"nats": nats, "bits_per_dim": nats / (x.shape[1] * math.log(2))}


@torch.no_grad()
def evaluate(model: ARModel, x: torch.Tensor, cond: Any = None, batch_size: int = 512,
             progress: Progress | None = None) -> dict[str, float]:
    """NLL of ``x`` [N, D] under ``model``: ``nats`` per example and ``bits_per_dim``."""

    def nll_of(xb: torch.Tensor, i: int) -> torch.Tensor:
        cb = cond[i:i + len(xb)].to(model.device) if isinstance(cond, torch.Tensor) else cond
        return model.eval_nll(xb, cb)

    return _mean_nll(model, x, nll_of, batch_size, progress)


@torch.no_grad()
def class_nll(model: ARModel, x: torch.Tensor, classes: int, rows: int) -> torch.Tensor:
    """-log p(x | c) of every image under every class, [N, C] float64, at most ``rows`` (image, class) rows a pass.

    The N * C rows are laid out image by image (image j's rows are j*C .. j*C + C - 1) and
    evaluated in slices of ``rows``: no Python loop per image or per class.
    """
    n = len(x)
    rep = x.repeat_interleave(classes, dim=0)  # [N * C, D]
    labels = torch.arange(classes, device=x.device).repeat(n)  # [N * C]
    out = [model.eval_nll(xs, cs).double() for xs, cs in zip(rep.split(rows), labels.split(rows))]
    return torch.cat(out).view(n, classes)


@torch.no_grad()
def evaluate_marginal(model: ARModel, x: torch.Tensor, log_prior: torch.Tensor, batch_size: int | None = None,
                      progress: Progress | None = None, workers: int = 1) -> dict[str, float]:
    """Unconditional NLL of a class-conditional model: -log sum_c p(c) p(x | c).

    ``log_prior`` [C] is log p(c) (e.g. the training labels' frequencies). This is the figure to
    compare with an unconditional model's NLL; -log p(x | true c) is lower by up to log C nats.
    ``batch_size`` is the (image, class) rows per forward pass (default ``eval_batch_size``): each
    pass holds whole images with every class where C allows, so a batch of images costs C rows.
    ``workers`` > 1 runs that many passes at once, one CPU thread each (for the command line: it
    sets torch's thread count for the while, which a process running other torch work should not).
    """
    classes = int(log_prior.numel())
    if classes < 1:
        raise ValueError("the marginal NLL needs at least one class")
    rows = int(batch_size or eval_batch_size(x.shape[1], model.device))
    if rows < 1:
        raise ValueError(f"the batch size must be at least 1, got {rows}")
    lp = log_prior.double().to(model.device)

    def nll_of(xb: torch.Tensor, i: int) -> torch.Tensor:
        return -torch.logsumexp(lp - class_nll(model, xb, classes, rows), dim=1)

    return _mean_nll(model, x, nll_of, max(1, rows // classes), progress, workers)
