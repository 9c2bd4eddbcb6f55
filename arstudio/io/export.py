"""Samples to files, by modality: one exporter per modality, chosen by ``spec.layout.modality``.

The command line's ``sample`` and the studio's Export both call ``export_samples``. A later
modality (text, audio, music) adds its exporter with ``register_exporter``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arstudio.core.spec import ModelSpec
from arstudio.io.png import image_grid, write_png



@dataclass(frozen=True)
class RunDetail:
    """What a run knows besides its values, for formats that record it (a text export's per-token log p).

    Arrays are in step order: ``log_prob`` [B, T] in nats (NaN where not taken), ``given`` [T] True
    where the value was kept (a prompt, a branch's prefix) or forced, ``prefix_len`` the kept steps.
    """

    log_prob: np.ndarray
    given: np.ndarray
    prefix_len: int = 0


WriteFn = Callable[[Path, ModelSpec, np.ndarray, dict[str, str], "RunDetail | None"], Path]


@dataclass(frozen=True)
class Exporter:
    """How samples of one modality are written, and which file suffixes that takes."""

    modality: str
    suffixes: tuple[str, ...]
    write: WriteFn


_EXPORTERS: dict[str, Exporter] = {}


def register_exporter(modality: str, suffixes: tuple[str, ...]) -> Callable[[WriteFn], WriteFn]:
    """Decorator: ``write(path, spec, x [B, D], text, detail) -> Path`` exports samples of ``modality``."""

    def deco(fn: WriteFn) -> WriteFn:
        _EXPORTERS[modality] = Exporter(modality, tuple(s.lower() for s in suffixes), fn)
        return fn

    return deco


def exporter_for(modality: str) -> Exporter:
    """The exporter of ``modality``; ValueError when there is none yet."""
    try:
        return _EXPORTERS[modality]
    except KeyError:
        known = ", ".join(sorted(_EXPORTERS)) or "none"
        raise ValueError(f"samples of {modality!r} models cannot be exported yet (exportable: {known})") from None


def check_suffix(path: str | os.PathLike, modality: str) -> Path:
    """Raise ValueError unless ``path`` has a suffix the modality's exporter writes."""
    p, exp = Path(path), exporter_for(modality)
    if p.suffix.lower() not in exp.suffixes:
        raise ValueError(f"{p}: {modality} samples are written as {' or '.join(exp.suffixes)} files; "
                         f"give a path ending in {exp.suffixes[0]}")
    return p


def export_samples(path: str | os.PathLike, spec: ModelSpec, x: np.ndarray, text: dict[str, str] | None = None,
                   detail: RunDetail | None = None) -> Path:
    """Write samples x [B, D] (flat, data order) of a model with ``spec`` to ``path``, atomically.

    ``text``: metadata the file records (the replay recipe); ``detail``: per-step log p and given
    steps, which formats that hold them (text JSON) write too.
    """
    p = check_suffix(path, spec.layout.modality)
    return exporter_for(spec.layout.modality).write(p, spec, np.asarray(x), dict(text or {}), detail)


def to_unit(spec: ModelSpec, x: np.ndarray) -> np.ndarray:
    """Values scaled to [0, 1] for display: binary as is, n levels over n - 1, reals over [low, high]."""
    v = spec.values
    x = np.asarray(x, dtype=np.float64)
    if v.kind == "binary":
        return x
    if v.kind == "categorical":
        return x / (v.n - 1)
    return (x - v.low) / ((v.high - v.low) or 1.0)


@register_exporter("image", (".png",))
def _write_image(path: Path, spec: ModelSpec, x: np.ndarray, text: dict[str, str], detail: RunDetail | None) -> Path:
    shape = spec.layout.shape  # (C, H, W)
    imgs = to_unit(spec, x).reshape(len(x), *shape)
    return write_png(path, image_grid(imgs), text)
