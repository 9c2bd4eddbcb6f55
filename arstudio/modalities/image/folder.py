"""A person's own folder of images as a data set, fitted to a built-in set's shape and value levels.

Plain data, no Qt: images are read with Pillow, turned grey (or RGB for 3-channel sets), resized
to the set's H x W, inverted when mostly light (the built-in digits are light ink on black), and
quantized to its values (binary at the midpoint, n grey levels, or the continuous range).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from arstudio.core.spec import ValueSpace
from arstudio.data.datasets import Dataset, fixed_split

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
MIN_IMAGES = 10


def load_image(path: Path, shape: tuple[int, ...], invert: bool | None = None) -> np.ndarray:
    """One image as floats in [0, 1], shape (C, H, W); ``invert`` None means: when mostly light."""
    from PIL import Image

    c, h, w = shape
    with Image.open(path) as im:
        im = im.convert("RGB" if c == 3 else "L").resize((w, h), Image.Resampling.BOX)
        a = np.asarray(im, dtype=np.float64) / 255.0
    a = a.transpose(2, 0, 1) if c == 3 else a[None]
    if invert if invert is not None else a.mean() > 0.5:
        a = 1.0 - a
    return a


def quantize(x: np.ndarray, v: ValueSpace) -> np.ndarray:
    """Brightness in [0, 1] to values of the space ``v`` (binary at the midpoint, n levels, or a range)."""
    if v.kind == "binary":
        return (x >= 0.5).astype(np.int64)
    if v.kind == "categorical":
        return np.rint(x * (v.n - 1)).astype(np.int64)
    return (v.low + x * (v.high - v.low)).astype(np.float32)


def folder_dataset(folder: Path, like: Dataset) -> Dataset:
    """Every image in ``folder`` as a data set shaped like ``like``; ValueError (one line) when it cannot be."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    shape = tuple(like.layout.shape)
    if len(shape) != 3:
        raise ValueError(f"{like.name} is not an image data set, so a folder of images cannot stand in for it")
    images, bad = [], 0
    for p in files:
        try:
            images.append(load_image(p, shape))
        except Exception:  # an unreadable file is skipped and counted
            bad += 1
    if len(images) < MIN_IMAGES:
        raise ValueError(f"{folder}: has {len(images)} readable images ({bad} unreadable); training needs at least "
                         f"{MIN_IMAGES}")
    x = quantize(np.stack(images), like.values).reshape(len(images), -1)
    n = len(x)
    held = max(1, n // 10)
    split = fixed_split(n, held, held, seed=0)
    flat = torch.as_tensor(x)
    parts = {k: flat[idx] for k, idx in split.items()}
    c, h, w = shape
    return Dataset(f"folder:{folder.name}", f"{n} images from {folder}, as {c}x{h}x{w} {like.values.kind} like "
                   f"{like.name}", like.layout, like.values, parts["train"], parts["valid"], parts["test"], split)
