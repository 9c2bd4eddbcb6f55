"""A person's own folder of images as a data set, fitted to a built-in set's shape and value levels.

Plain data, no Qt. Each file goes through the one file-to-values rule of the studio,
``arstudio.io.images.load_for_model`` (the image modality's ``import_file`` and the Likelihood
tab use it too): grey or RGB as the set's channels, resized to its H x W with the aspect ratio
kept, inverted when on a light background (the built-in sets are light ink on black), and
quantized to its values (binary at the midpoint, n grey levels, or the continuous range).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from arstudio.data.datasets import Dataset, fixed_split
from arstudio.io.images import load_for_model

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MIN_IMAGES = 10


def folder_dataset(folder: Path, like: Dataset) -> Dataset:
    """Every image in ``folder`` as a data set shaped like ``like``; ValueError (one line) when it cannot be."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    shape = tuple(int(s) for s in like.layout.shape)
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ValueError(f"{like.name} is not a grey or RGB image data set, so a folder of images cannot stand in "
                         "for it")
    images, bad = [], 0
    for p in files:
        try:
            images.append(load_for_model(p, shape, like.values).values)
        except Exception:  # an unreadable file (ImageError, or anything Pillow raises) is skipped and counted
            bad += 1
    if len(images) < MIN_IMAGES:
        raise ValueError(f"{folder}: has {len(images)} readable images ({bad} unreadable); training needs at least "
                         f"{MIN_IMAGES}")
    x = np.stack(images)  # (N, C * H * W) in data order
    n = len(x)
    held = max(1, n // 10)
    split = fixed_split(n, held, held, seed=0)
    flat = torch.as_tensor(x if like.values.discrete else x.astype(np.float32))
    parts = {k: flat[idx] for k, idx in split.items()}
    c, h, w = shape
    return Dataset(f"folder:{folder.name}", f"{n} images from {folder}, as {c}x{h}x{w} {like.values.kind} like "
                   f"{like.name}", like.layout, like.values, parts["train"], parts["valid"], parts["test"], split)
