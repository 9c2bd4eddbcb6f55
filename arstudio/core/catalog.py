"""Where checkpoints live: the shipped ``models/`` folder and the user's own folder.

A CHECKPOINT argument is a path, or the name (file stem) of a checkpoint in one of these folders.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir

from arstudio.core.checkpoint import CheckpointError, CheckpointMeta, read_meta
from arstudio.core.files import describe_os_error

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
    """Every ``*.safetensors`` in the search folders; unreadable ones carry their error (one line).

    One bad file never stops the listing: whatever reading it raises becomes that entry's error.
    """
    out = []
    for d, source in zip(search_dirs(), ("shipped", "user")):
        try:
            if not d.is_dir():
                continue
            paths = sorted(d.glob("*.safetensors"))
        except OSError as e:  # an unreadable folder: nothing listed from it
            out.append(CatalogEntry(d.name, d, source, None, describe_os_error(d, e)))
            continue
        for p in paths:
            try:
                out.append(CatalogEntry(p.stem, p, source, read_meta(p)))
            except CheckpointError as e:
                out.append(CatalogEntry(p.stem, p, source, None, str(e)))
            except (OSError, ValueError, RecursionError, MemoryError) as e:
                out.append(CatalogEntry(p.stem, p, source, None, f"{p}: cannot be read ({type(e).__name__}: {e})"))
    return out


def _exists(p: Path) -> bool:
    try:
        return os.path.lexists(p)
    except (OSError, ValueError):
        return False


def resolve(name_or_path: str | os.PathLike) -> Path:
    """The file a CHECKPOINT argument names: an existing path, else a name in the search folders.

    A name that matches nothing gives "no checkpoint called X (did you mean Y?)", the nearest names by difflib.
    """
    p = Path(name_or_path)
    if str(name_or_path) == "":
        raise CheckpointError("an empty checkpoint name was given")
    if _exists(p):  # a broken link or special file is reported by whatever reads it, with its path
        return p
    for d in search_dirs():
        cand = d / f"{p.name}.safetensors" if p.suffix != ".safetensors" else d / p.name
        if _exists(cand):
            return cand
    looks_like_path = os.sep in str(name_or_path) or p.suffix == ".safetensors"
    if looks_like_path:
        raise CheckpointError(f"{name_or_path}: no such file")
    names = sorted({e.name for e in list_checkpoints()})
    close = difflib.get_close_matches(p.name, names, n=3, cutoff=0.5)
    hint = (f" (did you mean {' or '.join(close)}?)" if close
            else f" (available: {', '.join(names)})" if names else " (there are none: train one, or give a path)")
    raise CheckpointError(f"no checkpoint called {str(name_or_path)!r}{hint}")
