"""The data set registry: each entry builds a ``Dataset`` with a fixed train / valid / test split.

Data sets are found through the ``arstudio.datasets`` entry points, as model kinds are through
theirs (``arstudio.core.registry``); ``reload()`` scans again after a plug-in is installed or removed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from arstudio.core import plugins
from arstudio.core.plugins import sync_registry
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

    def recorded_split(self, split: str, indices: list[int] | None) -> tuple[torch.Tensor, torch.Tensor | None, str]:
        """Examples and labels of ``split`` by the indices a checkpoint recorded, and a note on their source.

        When the recorded indices differ from today's split, the full set is rebuilt and indexed.
        """
        if indices is None or list(indices) == list(self.split.get(split, [])):
            note = "" if indices is not None else " (the checkpoint records no split: the data set's own)"
            return getattr(self, split), self.labels.get(split), note
        n = sum(len(v) for v in self.split.values())
        full = torch.empty(n, self.train.shape[1], dtype=self.train.dtype)
        labels = torch.zeros(n, dtype=torch.long) if self.labels else None
        for part, idx in self.split.items():
            full[idx] = getattr(self, part)
            if labels is not None and part in self.labels:
                labels[idx] = self.labels[part]
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= n):
            raise ValueError(f"the recorded {split} split indexes past the {n} examples of {self.name}")
        return full[idx], (labels[idx] if labels is not None else None), " (the checkpoint's recorded split)"

    def meta(self) -> dict[str, Any]:
        """What a checkpoint records about its data: name, sizes and the split indices."""
        return {"name": self.name, "sizes": {k: len(v) for k, v in self.split.items()}, "split": self.split}


GROUP = "arstudio.datasets"


@dataclass(frozen=True)
class DatasetEntry:
    """A registered data set: its name, its modality, and the function that builds it."""

    name: str
    modality: str
    build: Callable[[], Dataset]


_DATASETS: dict[str, DatasetEntry] = {}
_CACHE: dict[str, Dataset] = {}
_FROM_ENTRY_POINTS: set[str] = set()  # the data sets the last scan found through their entry points
_loaded = False


def register_dataset(name: str, *, modality: str) -> Callable[[Callable[[], Dataset]], Callable[[], Dataset]]:
    """Decorator: register a function that builds the data set ``name`` of ``modality``.

    The function is also what the data set's entry point (group ``arstudio.datasets``) names.
    """

    def deco(fn: Callable[[], Dataset]) -> Callable[[], Dataset]:
        old = _DATASETS.get(name)
        if old is not None and old.build is not fn:
            _CACHE.pop(name, None)  # built by the function this one replaces
        _DATASETS[name] = DatasetEntry(name, modality, fn)
        return fn

    return deco


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    sync_registry(GROUP, _DATASETS, _FROM_ENTRY_POINTS, lambda entry: entry.build, "data set",
                  "decorate it with @register_dataset")
    for name in _CACHE.keys() - _DATASETS.keys():
        del _CACHE[name]


def reload() -> None:
    """Scan the entry points again now (after installing or removing a plug-in).

    Data sets of new entry points are added; those whose entry point has gone (or fails to load
    now) are dropped, with what was built of them; those registered by the decorator outside any
    entry point stay.
    """
    global _loaded
    importlib.invalidate_caches()
    plugins.reset(GROUP)
    _loaded = False
    _ensure_loaded()


def datasets(modality: str | None = None) -> list[str]:
    """Names of the available data sets (of one modality, if given)."""
    _ensure_loaded()
    return [n for n, e in _DATASETS.items() if modality is None or e.modality == modality]


def dataset_modality(name: str) -> str:
    """The modality the data set ``name`` registered with."""
    _ensure_loaded()
    if name not in _DATASETS:
        raise UnknownDatasetError(f"unknown data set {name!r} (known: {', '.join(_DATASETS)})")
    return _DATASETS[name].modality


def get_dataset(name: str) -> Dataset:
    """Build (once) and return the data set ``name``."""
    modality = dataset_modality(name)
    if name not in _CACHE:
        ds = _DATASETS[name].build()
        if ds.layout.modality != modality:
            raise ValueError(f"data set {name!r} registered as {modality} but its layout says {ds.layout.modality}")
        _CACHE[name] = ds
    return _CACHE[name]


def fixed_split(n: int, valid: int, test: int, seed: int = 0) -> dict[str, list[int]]:
    """A seeded permutation of 0..n-1 cut into train / valid / test index lists."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return {"train": sorted(perm[valid + test:]), "valid": sorted(perm[:valid]), "test": sorted(perm[valid:valid + test])}
