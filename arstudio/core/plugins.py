"""Plug-ins found through entry points: model kinds, data sets, modalities and file formats.

The core names a group (``arstudio.models``, ``arstudio.datasets``, ``arstudio.modalities``,
``arstudio.formats``), never a package: the built-ins are declared in arstudio's own
``pyproject.toml`` and a separate distribution adds to a group with entry-point lines of its own.
A plug-in that fails to load is reported by its name and group (``broken()``); the rest load.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from collections.abc import Callable, MutableMapping
from typing import Any

GROUPS = ("arstudio.models", "arstudio.datasets", "arstudio.modalities", "arstudio.formats")


@dataclass(frozen=True)
class BrokenPlugin:
    """An entry point that could not be loaded, and why (one line)."""

    group: str
    name: str
    value: str
    error: str

    def __str__(self) -> str:
        return f"plug-in {self.name!r} ({self.group}, {self.value}) could not be loaded: {self.error}"


_lock = threading.RLock()
_loaded: dict[str, dict[str, Any]] = {}
_broken: dict[str, list[BrokenPlugin]] = {}


def _entry_points(group: str) -> list[EntryPoint]:
    seen: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        seen.setdefault(ep.name, ep)  # the first distribution on the path wins, as imports do
    return list(seen.values())


def load_group(group: str) -> dict[str, Any]:
    """Every plug-in of ``group`` by name, loaded once; the ones that fail go to ``broken()``."""
    with _lock:
        if group not in _loaded:
            good: dict[str, Any] = {}
            bad: list[BrokenPlugin] = []
            for ep in _entry_points(group):
                try:
                    good[ep.name] = ep.load()
                except Exception as e:  # a plug-in's bug must not stop the studio: say which one
                    bad.append(BrokenPlugin(group, ep.name, ep.value, f"{type(e).__name__}: {e}"))
            _loaded[group], _broken[group] = good, bad
            for b in bad:
                print(f"arstudio: warning: {b}", file=sys.stderr)
        return dict(_loaded[group])


def report_broken(group: str, name: str, value: str, error: str) -> None:
    """Record a plug-in that loaded but is not what its group expects (e.g. the wrong type)."""
    b = BrokenPlugin(group, name, value, error)
    with _lock:
        _broken.setdefault(group, []).append(b)
    print(f"arstudio: warning: {b}", file=sys.stderr)


def sync_registry(group: str, table: MutableMapping[str, Any], from_entry_points: set[str],
                  registered: Callable[[Any], Any], what: str, fix: str) -> None:
    """Match a registry that decorators fill (``table``: name -> entry) to the entry points of ``group``.

    An entry whose entry point has gone (or no longer loads) is dropped; an entry point whose
    object registered nothing under its name (``registered(entry)`` is not that object) is
    reported as broken, saying ``fix``. ``from_entry_points`` is updated to the names found.
    """
    found = load_group(group)
    for name in from_entry_points - found.keys():
        table.pop(name, None)
    from_entry_points.clear()
    for name, obj in found.items():
        entry = table.get(name)
        if entry is None or registered(entry) is not obj:
            report_broken(group, name, getattr(obj, "__qualname__", repr(obj)),
                          f"its entry point names {obj!r}, which registers no {what} {name!r} ({fix})")
            table.pop(name, None)
        else:
            from_entry_points.add(name)


def broken(group: str | None = None) -> list[BrokenPlugin]:
    """Plug-ins that failed to load (of one group, or of every group loaded so far)."""
    with _lock:
        groups = [group] if group else list(_broken)
        return [b for g in groups for b in _broken.get(g, [])]


def reset(group: str | None = None) -> None:
    """Forget what was loaded (of one group, or of all), so that the next lookup scans the entry points again.

    After installing or removing a distribution; ``importlib.invalidate_caches()`` makes a new one visible.
    """
    with _lock:
        for g in [group] if group else list(_loaded.keys() | _broken.keys()):
            _loaded.pop(g, None)
            _broken.pop(g, None)
