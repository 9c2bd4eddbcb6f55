"""Tiny models, random data and the comparison of two distributions, for the invariant checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from arstudio.core.dists import Bernoulli, Dist
from arstudio.core.protocol import ARModel
from arstudio.core.registry import get as get_kind
from arstudio.data.datasets import Dataset, get_dataset


def build_tiny(name: str, *, seed: int = 0, device: str | torch.device = "cpu", noise: float = 0.3
               ) -> tuple[ARModel, Dataset]:
    """A model of kind ``name`` on its ``tiny_config`` with random, nowhere trivially zero weights, and its data set.

    The config is the kind's tiny data set's (``tiny_data``, else ``default_data``: shape, values,
    vocabulary) overridden by the kind's ``tiny_config``; every parameter gets N(0, noise^2) added so
    that a masked-out weight that was left at zero by the initialisation cannot hide a causality bug.
    The model is in eval mode.
    """
    kind = get_kind(name)
    ds = get_dataset(kind.tiny_data or kind.default_data)
    torch.manual_seed(seed)
    model = kind.build({**ds.model_config(), **kind.tiny_config})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * noise)
    return model.to(device).eval(), ds


def random_data(model: ARModel, batch: int, seed: int) -> torch.Tensor:
    """Random flat data [B, D] in the model's value space, on the model's device."""
    g = torch.Generator().manual_seed(seed)
    d, vs = model.layout.length, model.spec.values
    if vs.discrete:
        return torch.randint(vs.n, (batch, d), generator=g).to(model.device)
    return (torch.rand(batch, d, generator=g) * (vs.high - vs.low) + vs.low).to(model.device)


def changed(model: ARModel, x: torch.Tensor, index: torch.Tensor, seed: int) -> torch.Tensor:
    """A copy of x whose entries at the flat data indices ``index`` all take another value."""
    out = x.clone()
    if not len(index):
        return out
    vs = model.spec.values
    g = torch.Generator().manual_seed(seed)
    if vs.discrete:
        shift = torch.randint(1, vs.n, (x.shape[0], len(index)), generator=g).to(x.device)
        out[:, index] = (x[:, index] + shift) % vs.n
    else:
        span = vs.high - vs.low
        shift = (torch.rand(x.shape[0], len(index), generator=g) * 0.8 + 0.1) * span
        out[:, index] = (x[:, index] - vs.low + shift.to(x.device)) % span + vs.low
    return out


def random_cond(model: ARModel, batch: int, seed: int = 0) -> Any:
    """Random conditioning when the model takes any (``model.example_cond``: class labels by default), else None."""
    return model.example_cond(batch, torch.Generator().manual_seed(seed))


def select_cond(cond: Any, rows: torch.Tensor) -> Any:
    """The conditioning of batch rows ``rows`` (None and batch-free conditioning stay as they are)."""
    if isinstance(cond, torch.Tensor) and cond.ndim > 0:
        return cond[rows.to(cond.device)]
    return cond


def orderings(model: ARModel, most: int = 2) -> Iterator[int]:
    """Select each of the model's first ``most`` orderings in turn (yielding k); ordering 0 again at the end."""
    try:
        for k in range(min(int(model.num_orderings), most)):
            model.select_ordering(k)
            yield k
    finally:
        model.select_ordering(0)


def _canonical(d: Dist) -> dict[str, torch.Tensor]:
    """A distribution's parameters with the normalisation freedom removed (logits -> log-probabilities)."""
    out = {}
    for key, v in d.params().items():
        v = v.detach().float()
        if key.startswith("logit") and not isinstance(d, Bernoulli):
            v = torch.log_softmax(v, dim=-1)  # softmax logits are defined up to a constant
        out[key] = v
    return out


def assert_same_dist(a: Dist, b: Dist, msg: str, atol: float = 1e-4, rtol: float = 1e-4) -> None:
    """Raise AssertionError (starting with ``msg``) unless a and b are the same distribution, batch row by row."""
    if type(a) is not type(b):
        raise AssertionError(f"{msg}: a {type(a).__name__} against a {type(b).__name__}")
    pa, pb = _canonical(a), _canonical(b)
    if pa.keys() != pb.keys():
        raise AssertionError(f"{msg}: parameters {sorted(pa)} against {sorted(pb)}")
    for key in pa:
        if pa[key].shape != pb[key].shape:
            raise AssertionError(f"{msg}: {key} has shape {list(pa[key].shape)} against {list(pb[key].shape)}")
        torch.testing.assert_close(pa[key], pb[key].to(pa[key].device), atol=atol, rtol=rtol,
                                   msg=lambda m, key=key: f"{msg}: {key} differs\n{m}")
