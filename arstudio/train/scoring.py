"""Likelihood scores of single images: per-pixel NLL maps, bits/dim, and standing among held-out images.

The per-pixel map is -log p(x_d | x_<d, c) for every place d, in data order, under the ordering
the model follows now; it sums to the model's NLL of the image. The anomaly score follows
PixelDefend (Song et al. 2018, "PixelDefend: Leveraging Generative Models to Understand and
Defend against Adversarial Examples", Sec. 3): the image's NLL is ranked among the NLLs of
held-out images of the training distribution, and a high rank means an unusual image.
Conditional models p(x | c) are scored by the class marginal p(x) = (1/K) sum_c p(x | c), with
a uniform prior over their K classes, since the label of an image from outside is unknown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from arstudio.core.checkpoint import CheckpointMeta
from arstudio.core.protocol import ARModel

HELDOUT_LIMIT = 300  # held-out images scored for the reference distribution
HELDOUT_LIMIT_CONDITIONAL = 100  # fewer for p(x | c): each image is scored under every label


def _flat(model: ARModel, x: torch.Tensor | np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    x = x.view(1, -1) if x.ndim == 1 else x
    if x.shape[1] != model.layout.length:
        raise ValueError(f"an image of {x.shape[1]} values does not fit this model's {model.layout.length}")
    return x.to(model.device, model.data_dtype())


def _cond(model: ARModel, label: int | None, batch: int) -> torch.Tensor | None:
    k = int(model.spec.cond.get("classes", 0) or 0)
    if not k or label is None:
        return None
    if not 0 <= int(label) < k:
        raise ValueError(f"label {label} is outside this model's classes 0..{k - 1}")
    return torch.full((batch,), int(label), dtype=torch.long, device=model.device)


@torch.no_grad()
def nll_map(model: ARModel, x: torch.Tensor | np.ndarray, label: int | None = None) -> np.ndarray:
    """-log p(x_d | x_<d, label) of every place d, in nats, data order: [B, D] (or [D] for one image)."""
    one = np.ndim(x) == 1
    xb = _flat(model, x)
    was = model.training
    model.eval()
    try:
        lp = model.log_prob(xb, _cond(model, label, len(xb)))  # (B, T) step order
    finally:
        model.train(was)
    out = torch.empty_like(lp)
    out[:, torch.as_tensor(model.layout.order_array(), device=lp.device)] = -lp
    a = out.double().cpu().numpy()
    return a[0] if one else a


def bits_per_dim(nats: float | np.ndarray, dims: int) -> float | np.ndarray:
    """Nats per image to bits per dimension."""
    return nats / (dims * math.log(2))


def num_classes(model: ARModel) -> int:
    """K for a class-conditional model, 0 otherwise."""
    return int(model.spec.cond.get("classes", 0) or 0)


@torch.no_grad()
def image_score(model: ARModel, x: torch.Tensor | np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """The anomaly score of each image: NLL in nats [B] (the class marginal for conditional models).

    Uses ``eval_nll``, so that a model with several orderings is scored by its ensemble, as held out.
    ``batch_size`` is the rows per forward pass (default ``eval_batch_size``); a conditional model
    scores each image under its K classes in the same passes (``class_nll``).
    """
    from arstudio.train.evaluate import class_nll, eval_batch_size

    xb = _flat(model, x)
    k = num_classes(model)
    rows = int(batch_size or eval_batch_size(xb.shape[1], model.device))
    was = model.training
    model.eval()
    step = max(1, rows // max(k, 1))  # K rows per image for a conditional model
    try:
        out = []
        for i in range(0, len(xb), step):
            chunk = xb[i:i + step]
            if not k:
                out.append(model.eval_nll(chunk).double())
            else:
                out.append(-(torch.logsumexp(-class_nll(model, chunk, k, rows), dim=1) - math.log(k)))
    finally:
        model.train(was)
    return torch.cat(out).cpu().numpy()


@torch.no_grad()
def best_label(model: ARModel, x: torch.Tensor | np.ndarray) -> int | None:
    """The class c with the highest p(x | c) for one image, or None for an unconditional model."""
    k = num_classes(model)
    if not k:
        return None
    xb = _flat(model, x)[:1].repeat(k, 1)
    return int(torch.argmin(model.eval_nll(xb, torch.arange(k, device=model.device))))


def heldout_images(model: ARModel, meta: CheckpointMeta, split: str = "test", limit: int | None = None
                   ) -> torch.Tensor:
    """Up to ``limit`` held-out images of the checkpoint's data set (its recorded split), evenly spaced.

    The default limit is ``HELDOUT_LIMIT``, or ``HELDOUT_LIMIT_CONDITIONAL`` for a conditional model.
    """
    if limit is None:
        limit = HELDOUT_LIMIT_CONDITIONAL if num_classes(model) else HELDOUT_LIMIT
    from arstudio.data.datasets import get_dataset

    name = meta.data.get("name")
    if not name:
        raise ValueError("the checkpoint records no data set, so there is no held-out distribution to compare with")
    ds = get_dataset(str(name))
    if tuple(ds.layout.shape) != tuple(model.layout.shape) or ds.values.kind != model.spec.values.kind or (
            ds.values.discrete and ds.values.n != model.spec.values.n):
        raise ValueError(f"the held-out images of {name} ({'x'.join(map(str, ds.layout.shape))}, {ds.values.kind}) "
                         f"do not fit this model ({'x'.join(map(str, model.layout.shape))}, {model.spec.values.kind})")
    x, _, _ = ds.recorded_split(split, meta.data.get("split", {}).get(split))
    if len(x) == 0:
        raise ValueError(f"the {split} split of {name} is empty")
    if len(x) > limit:
        x = x[torch.linspace(0, len(x) - 1, limit).round().long()]
    return x


def heldout_scores(model: ARModel, meta: CheckpointMeta, split: str = "test", limit: int | None = None
                   ) -> np.ndarray:
    """``image_score`` of the held-out images: the reference distribution of anomaly scores, nats [N]."""
    return image_score(model, heldout_images(model, meta, split, limit))


@dataclass(frozen=True)
class Standing:
    """Where one score sits among held-out scores: higher NLL means less likely, more unusual."""

    score: float  # nats
    percentile: float  # % of held-out images with a lower NLL (ties count half)
    z: float  # (score - mean) / std of the held-out scores
    n: int

    @property
    def verdict(self) -> str:
        """A few words for the panel."""
        if self.percentile >= 99:
            return "very unusual (an outlier)"
        if self.percentile >= 95:
            return "unusual"
        if self.percentile <= 5:
            return "more likely than most held-out images"
        return "typical of the held-out images"


def standing(heldout: np.ndarray, score: float) -> Standing:
    """Rank ``score`` among ``heldout`` (both NLL in the same unit)."""
    h = np.asarray(heldout, dtype=np.float64)
    h = h[np.isfinite(h)]
    if h.size == 0:
        raise ValueError("no held-out scores to compare with")
    below = float(np.sum(h < score)) + 0.5 * float(np.sum(h == score))
    sd = float(h.std())
    z = (score - float(h.mean())) / sd if sd > 0 else 0.0
    return Standing(float(score), 100.0 * below / h.size, z, int(h.size))


def class_names(meta: CheckpointMeta, k: int) -> list[str]:
    """Display names of a conditional model's k class labels (glyphs28: 0-9 then A-Z; else the numbers)."""
    if meta.data.get("name") == "glyphs28":
        from arstudio.data.glyphs import CLASSES

        if k <= len(CLASSES):
            return list(CLASSES[:k])
    return [str(i) for i in range(k)]
