"""Dependency maps: how much each pixel influences the distribution of one pixel, by gradients.

For a pixel with data index d, reached at step t, the map is

    M_d[j] = | d log p(x_d | x_<d, c) / d u_j |

where u is the float input the model's first layer takes (for PixelCNN and Gated PixelCNN the
grey level mapped to [-1, 1]; for FVSBN, NADE and MADE the pixel value itself), as in the
gradient causality checks of MADE (Germain et al. 2015). Causality makes M_d[j] = 0 for every j
at or after step t; within the earlier pixels an exact zero means that pixel cannot reach x_d
at all, which is how PixelCNN's blind spot (van den Oord et al. 2016, "Conditional Image
Generation with PixelCNN Decoders", Fig. 1) shows up, and how Gated PixelCNN's two stacks remove
it. The studio's overlay shades the earlier pixels by M_d.
"""

from __future__ import annotations

from typing import Any

import torch

from arstudio.core.protocol import ARModel


def dependency_map(model: ARModel, x: torch.Tensor, index: int, cond: Any = None) -> torch.Tensor:
    """|grad of log p(x_index | earlier pixels)| w.r.t. every input pixel: [B, D] in data order.

    ``x`` is flat data [B, D] (or [D]); ``index`` a flat data index. The model's ``dists`` must
    accept float data (every image model here does: it is what its first layer computes on).
    """
    squeeze = x.ndim == 1
    x = x.view(1, -1) if squeeze else x
    d = x.shape[1]
    if not 0 <= index < d:
        raise IndexError(f"pixel index {index} is outside 0..{d - 1}")
    order = model.layout.order_array()
    t = int((order == index).nonzero()[0][0])  # the step at which pixel `index` is drawn
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            u = x.detach().to(model.device, torch.float32).requires_grad_(True)
            dist = model.dists(u, cond)
            target = x[:, index].to(model.device)
            if not model.spec.values.discrete:
                target = target.float()
            lp = dist[:, t].log_prob(target).sum()
            (grad,) = torch.autograd.grad(lp, u, allow_unused=True)
    finally:
        model.train(was_training)
    if grad is None:
        raise TypeError(f"{model.spec.kind}: its distributions do not depend on float input, so no gradient "
                        "map can be taken")
    m = grad.abs().detach()
    return m[0] if squeeze else m


def receptive_field(model: ARModel, index: int, shape: tuple[int, ...] | None = None, trials: int = 2,
                    seed: int = 0, cond: Any = None) -> torch.Tensor:
    """Which pixels pixel ``index`` can see at all: a bool map [D], nonzero gradient on any of a few random inputs.

    One input can zero a path by chance (a ReLU off); the union over ``trials`` random images does
    not, while the exact zeros that the architecture imposes stay zero.
    """
    g = torch.Generator().manual_seed(seed)
    d = model.layout.length
    if model.spec.values.discrete:
        x = torch.randint(model.spec.values.n, (trials, d), generator=g)
    else:
        x = torch.rand(trials, d, generator=g)
    seen = (dependency_map(model, x, index, cond) > 0).any(0)
    return seen.view(shape) if shape is not None else seen
