"""Samples to files: the one export path of the command line and the studio.

The file format is the modality's (``arstudio.core.modality.Modality.formats``), chosen by the
path's suffix; every format writes atomically and records the replay recipe it is given.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from arstudio.core.modality import RunDetail, get_modality
from arstudio.core.spec import ModelSpec, ValueSpace

__all__ = ["RunDetail", "check_suffix", "export_samples", "to_unit"]


def check_suffix(path: str | os.PathLike, modality: str) -> Path:
    """Raise ValueError unless ``path`` has a suffix one of the modality's formats writes."""
    get_modality(modality).format_for(path)
    return Path(path)


def export_samples(path: str | os.PathLike, spec: ModelSpec, x: np.ndarray, text: dict[str, str] | None = None,
                   detail: RunDetail | None = None) -> Path:
    """Write samples x [B, D] (flat, data order) of a model with ``spec`` to ``path``, atomically.

    ``text``: metadata the file records (the replay recipe); ``detail``: per-step log p and given
    steps, which formats that hold them (text JSON) write too.
    """
    fmt = get_modality(spec.layout.modality).format_for(path)
    return fmt.write(Path(path), spec, np.asarray(x), dict(text or {}), detail)


def to_unit(space: ValueSpace, x: np.ndarray) -> np.ndarray:
    """Values of ``space`` as brightness in [0, 1]: the one value-to-brightness map of exports and views.

    n levels over n - 1 (binary as is), reals from [low, high]; outside values are clipped, NaN
    (a place not sampled yet) stays NaN. ``arstudio.io.images.quantize`` is its inverse.
    """
    x = np.asarray(x, dtype=np.float64)
    if space.discrete:
        return np.clip(x / max(space.n - 1, 1), 0.0, 1.0)
    return np.clip((x - space.low) / ((space.high - space.low) or 1.0), 0.0, 1.0)
