"""Atomic file replacement: write a temp file in the target's folder, then ``os.replace`` it.

A failure at any point leaves whatever was at the target path untouched and removes the temp
file. Checkpoints and every export (PNG, WAV, MIDI) are written through ``atomic_replace``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()  # read once at import: os.umask is process-wide, so never toggle it from a worker thread


def atomic_replace(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temp file beside ``path``, then move it over ``path`` in one step.

    The new file keeps the old file's permissions, or gets the usual ones (0666 less the umask).
    OSError propagates; callers turn it into their own one-line error.
    """
    p = Path(path)
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
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return p
