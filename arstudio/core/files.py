"""Reading input files safely: only regular files, with a size limit, and one-line errors that name the path.

A FIFO, a folder, ``/dev/zero``, a socket or a symlink loop given where a file is expected is
refused before any read (a FIFO would block forever, ``/dev/zero`` never ends). Every read
checks the file's size against a limit for its kind first. Errors are ``InputFileError``
(a ``ValueError``), whose message starts with the path and says what is wrong.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

MiB = 1 << 20
GiB = 1 << 30
# Size limits per kind of input; generous for real files, small enough that a mistake cannot exhaust memory.
LIMITS = {"checkpoint": 16 * GiB, "text file": 256 * MiB, "json": 64 * MiB, "config": 4 * MiB, "image": 256 * MiB,
          "recipe": 64 * MiB}
NAMES = {"json": "JSON file", "config": "config file", "image": "image file", "recipe": "exported file"}


class InputFileError(ValueError):
    """An input file that cannot be read as one: the message is one line naming the path."""


def _kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def describe_os_error(path: str | os.PathLike, e: OSError) -> str:
    """One line for an OSError met on ``path``: the path, then what went wrong in words."""
    p = Path(path)
    if e.errno == errno.ENOENT:
        try:
            os.lstat(p)
        except OSError:
            return f"{p}: no such file"
        return f"{p}: is a broken symbolic link (its target does not exist)"
    if e.errno == errno.ELOOP:
        return f"{p}: is a symbolic link loop"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"{p}: permission denied"
    if e.errno == errno.EIO:
        return f"{p}: cannot be read (input/output error: the disk or file system failed)"
    if e.errno == errno.ENAMETOOLONG:
        return f"{str(p)[:80]}…: the path is too long"
    if e.errno == errno.ENOTDIR:
        return f"{p}: a part of the path is not a folder"
    return f"{p}: cannot be read ({e.strerror or e})"


def check_regular(path: str | os.PathLike, what: str = "file") -> os.stat_result:
    """The ``stat`` of ``path`` if it is an existing regular file (symlinks followed); InputFileError otherwise."""
    p = Path(path)
    try:
        st = os.stat(p)
    except OSError as e:
        raise InputFileError(describe_os_error(p, e)) from None
    except ValueError:  # an embedded NUL
        raise InputFileError(f"{str(p)!r}: is not a valid path") from None
    kind = _kind_of(st.st_mode)
    if kind is not None:
        raise InputFileError(f"{p}: is {kind}, not a regular file")
    return st


def open_regular(path: str | os.PathLike, what: str = "file", limit: int | None = None) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file no larger than ``limit`` bytes.

    The file is opened without blocking (a FIFO swapped in after the check cannot hang the open)
    and checked again on the open descriptor.
    """
    p = Path(path)
    check_regular(p, what)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise InputFileError(describe_os_error(p, e)) from None
    try:
        st = os.fstat(fd)
        kind = _kind_of(st.st_mode)
        if kind is not None:
            raise InputFileError(f"{p}: is {kind}, not a regular file")
        if limit is not None and st.st_size > limit:
            raise InputFileError(f"{p}: is {_size(st.st_size)}, more than the {_size(limit)} a "
                                 f"{NAMES.get(what, what)} may be")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike, what: str = "file", limit: int | None = None) -> bytes:
    """The bytes of a regular file, refusing one over ``limit`` (default: the limit for ``what``, else 64 MiB)."""
    limit = LIMITS.get(what, LIMITS["json"]) if limit is None else limit
    with open_regular(path, what, limit) as f:
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise InputFileError(describe_os_error(path, e)) from None
    if len(data) > limit:
        raise InputFileError(f"{Path(path)}: is more than the {_size(limit)} a {NAMES.get(what, what)} may be")
    return data


def read_text(path: str | os.PathLike, what: str = "text file", limit: int | None = None) -> str:
    """A regular file's text, as UTF-8; InputFileError names the byte where decoding failed."""
    data = read_bytes(path, what, LIMITS.get(what, LIMITS["text file"]) if limit is None else limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputFileError(f"{Path(path)}: is not UTF-8 text (invalid byte at offset {e.start})") from None


def same_contents(a: str | os.PathLike, b: str | os.PathLike, what: str = "recipe") -> bool:
    """True when two regular files hold the same bytes (a replayed copy and its original); False if either
    cannot be read."""
    try:
        return read_bytes(a, what) == read_bytes(b, what)
    except InputFileError:
        return False


def _size(n: int) -> str:
    if n >= GiB:
        return f"{n / GiB:.1f} GiB"
    if n >= MiB:
        return f"{n / MiB:.1f} MiB"
    return f"{n} bytes"
