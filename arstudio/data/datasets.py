"""The data set registry: each entry builds a ``Dataset`` with a fixed train / valid / test split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from arstudio.core.spec import Layout, ValueSpace


class UnknownDatasetError(KeyError):
    """A data set name that nothing provides."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class Dataset:
    """Flat examples [N, D] split three ways; ``split`` keeps the indices into the source."""

    name: str
    description: str
    layout: Layout
    values: ValueSpace
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    split: dict[str, list[int]] = field(default_factory=dict)
    labels: dict[str, torch.Tensor] = field(default_factory=dict)  # class labels per split, if any

    def model_config(self) -> dict[str, Any]:
        """The config entries a model needs from its data: shape and value space."""
        return {"shape": list(self.layout.shape), "values": self.values.kind, "levels": self.values.n}

    def meta(self) -> dict[str, Any]:
        """What a checkpoint records about its data: name, sizes and the split indices."""
        return {"name": self.name, "sizes": {k: len(v) for k, v in self.split.items()}, "split": self.split}


_DATASETS: dict[str, Callable[[], Dataset]] = {}
_CACHE: dict[str, Dataset] = {}


def register_dataset(name: str) -> Callable[[Callable[[], Dataset]], Callable[[], Dataset]]:
    """Decorator: register a function that builds the data set ``name``."""

    def deco(fn: Callable[[], Dataset]) -> Callable[[], Dataset]:
        _DATASETS[name] = fn
        return fn

    return deco


def datasets() -> list[str]:
    """Names of the available data sets."""
    return list(_DATASETS)


def get_dataset(name: str) -> Dataset:
    """Build (once) and return the data set ``name``."""
    if name not in _DATASETS:
        raise UnknownDatasetError(f"unknown data set {name!r} (known: {', '.join(_DATASETS)})")
    if name not in _CACHE:
        _CACHE[name] = _DATASETS[name]()
    return _CACHE[name]


def fixed_split(n: int, valid: int, test: int, seed: int = 0) -> dict[str, list[int]]:
    """A seeded permutation of 0..n-1 cut into train / valid / test index lists."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return {"train": sorted(perm[valid + test:]), "valid": sorted(perm[:valid]), "test": sorted(perm[valid:valid + test])}


# Registers the built-in data sets.
from arstudio.data import digits as _digits  # noqa: E402,F401
