"""The one error type of file export: a path that cannot be written, said in one line."""

from __future__ import annotations


class ExportError(Exception):
    """An export that could not be written; nothing already on disk was changed."""
