"""scikit-learn's bundled 8x8 handwritten digits (1,797 images, grey levels 0..16), offline."""

from __future__ import annotations

import numpy as np
import torch

from arstudio.core.spec import Layout, ValueSpace
from arstudio.data.datasets import Dataset, fixed_split, register_dataset

N_VALID, N_TEST = 200, 300


def _load() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.astype(np.int64), d.target.astype(np.int64)


def _make(name: str, description: str, x: np.ndarray, y: np.ndarray, values: ValueSpace) -> Dataset:
    split = fixed_split(len(x), N_VALID, N_TEST, seed=0)
    flat = torch.as_tensor(x.reshape(len(x), -1))
    labels = torch.as_tensor(y)
    parts = {k: flat[idx] for k, idx in split.items()}
    return Dataset(name, description, Layout("image", (1, 8, 8)), values, parts["train"], parts["valid"],
                   parts["test"], split, {k: labels[idx] for k, idx in split.items()})


@register_dataset("digits", modality="image")
def binary_digits() -> Dataset:
    """The digits binarized at the midpoint: pixel = 1 where the grey level is >= 8 of 0..16."""
    x, y = _load()
    return _make("digits", "8x8 digits, binarized (value >= 8 of 0..16)", (x >= 8).astype(np.int64), y,
                 ValueSpace("binary"))


@register_dataset("digits17", modality="image")
def grey_digits() -> Dataset:
    """The digits at their 17 grey levels 0..16."""
    x, y = _load()
    return _make("digits17", "8x8 digits, 17 grey levels", x, y, ValueSpace("categorical", 17))


@register_dataset("digits-real", modality="image")
def real_digits() -> Dataset:
    """The 17-level digits dequantized for RNADE: x = (v + u) / 17 with u ~ U[0, 1), seeded, in [0, 1).

    ``values.n`` = 17 records the levels the reals came from, so a density model can report the
    discrete NLL bound -log p(x) + D log 17 (see ``arstudio.models.rnade``).
    """
    x, y = _load()
    u = np.random.default_rng(0).random(x.shape)
    return _make("digits-real", "8x8 digits, 17 grey levels dequantized to [0, 1): (v + u) / 17",
                 ((x + u) / 17.0).astype(np.float32), y, ValueSpace("continuous", 17, 0.0, 1.0))
