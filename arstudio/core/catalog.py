"""Where checkpoints live: the shipped ``models/`` folder and the user's own folder.

A CHECKPOINT argument is a path, or the name (file stem) of a checkpoint in one of these folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from arstudio.core.checkpoint import CheckpointError, CheckpointMeta, read_meta

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "models"


def user_models_dir() -> Path:
    """The user's checkpoint folder (``ARSTUDIO_USER_MODELS`` overrides the platform data dir)."""
    env = os.environ.get("ARSTUDIO_USER_MODELS")
    return Path(env) if env else Path(user_data_dir("arstudio", appauthor=False)) / "models"


def search_dirs() -> list[Path]:
    """Folders searched for checkpoints by name, shipped first."""
    return [SHIPPED_DIR, user_models_dir()]


@dataclass
class CatalogEntry:
    """A checkpoint found on disk, with its metadata (or the reason it could not be read)."""

    name: str
    path: Path
    source: str  # "shipped" or "user"
    meta: CheckpointMeta | None
    error: str | None = None


def list_checkpoints() -> list[CatalogEntry]:
    """Every ``*.safetensors`` in the search folders; unreadable ones carry their error."""
    out = []
    for d, source in zip(search_dirs(), ("shipped", "user")):
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.safetensors")):
            try:
                out.append(CatalogEntry(p.stem, p, source, read_meta(p)))
            except CheckpointError as e:
                out.append(CatalogEntry(p.stem, p, source, None, str(e)))
    return out


def resolve(name_or_path: str | os.PathLike) -> Path:
    """The file a CHECKPOINT argument names: an existing path, else a name in the search folders."""
    p = Path(name_or_path)
    if p.exists():
        return p
    for d in search_dirs():
        cand = d / f"{p.name}.safetensors" if p.suffix != ".safetensors" else d / p.name
        if cand.exists():
            return cand
    names = ", ".join(e.name for e in list_checkpoints()) or "none"
    raise CheckpointError(f"{name_or_path}: no such file, and no checkpoint of that name (available: {names})")
