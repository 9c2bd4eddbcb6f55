"""Atomic file writes: a temp file in the target's folder, then ``os.replace``.

A failure at any point leaves whatever was at the target path untouched and removes the temp
file. PNG, WAV and MIDI writers all go through ``atomic_write``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from arstudio.io.errors import ExportError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once at import: os.umask is process-wide, so never toggle it from a worker thread


def check_writable(path: str | os.PathLike) -> Path:
    """Raise ExportError unless a file could be written at ``path`` (its folder exists and is writable)."""
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise ExportError(f"{str(path)!r}: not a file name")
    if p.is_dir():
        raise ExportError(f"{p}: is a folder; give a file name inside it, e.g. {p / ('out' + (p.suffix or '.png'))}")
    parent = p.parent
    if not parent.exists():
        # A component above may be a file: say so, it is the likelier mistake.
        for up in (parent, *parent.parents):
            if up.exists() and not up.is_dir():
                raise ExportError(f"{p}: cannot write: {up} is a file, not a folder")
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
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        mode = (p.stat().st_mode & 0o777) if p.exists() else (0o666 & ~_UMASK)
        os.chmod(tmp, mode)
        os.replace(tmp, p)
        tmp = None
    except OSError as e:
        raise ExportError(f"{p}: cannot write: {e.strerror or e}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return p
