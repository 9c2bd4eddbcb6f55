"""Output paths: the one check that a file can be written there, and atomic writes with ExportError."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from arstudio.core.atomic import atomic_replace
from arstudio.io.errors import ExportError


def check_writable(path: str | os.PathLike, suffix: str | None = None, make_folders: bool = False) -> Path:
    """Raise ExportError (one line) unless a file could be written at ``path``; return it as a Path.

    The one check of every output path (exports, checkpoints), made before any work starts.
    ``suffix``: the name must end in it (e.g. ".safetensors"). ``make_folders``: missing folders
    are fine when the nearest existing one is writable (the writer creates them, as checkpoints do);
    otherwise the folder must exist.
    """
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise ExportError(f"{str(path)!r}: not a file name")
    if p.is_dir():
        example = p / ("out" + (suffix or p.suffix or ".png"))
        raise ExportError(f"{p}: is a folder; give a file name inside it, e.g. {example}")
    if suffix is not None and p.suffix != suffix:
        raise ExportError(f"{p}: must be a {suffix} file; give a path ending in {suffix}")
    parent = p.parent
    if not parent.exists():
        # A component above may be a file: say so, it is the likelier mistake.
        for up in (parent, *parent.parents):
            if up.exists():
                if not up.is_dir():
                    raise ExportError(f"{p}: cannot write: {up} is a file, not a folder")
                if not make_folders:
                    break
                if not os.access(up, os.W_OK | os.X_OK):
                    raise ExportError(f"{p}: cannot write: permission denied for the folder {up}")
                return p
        raise ExportError(f"{p}: cannot write: the folder {parent} does not exist")
    if not parent.is_dir():
        raise ExportError(f"{p}: cannot write: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"{p}: cannot write: permission denied for the folder {parent}")
    if p.exists() and not os.access(p, os.W_OK):
        raise ExportError(f"{p}: cannot write: the existing file is read-only")
    return p


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temp file beside ``path``, then move it over ``path`` in one step."""
    p = check_writable(path)
    try:
        return atomic_replace(p, write)
    except OSError as e:
        raise ExportError(f"{p}: cannot write: {e.strerror or e}") from None
