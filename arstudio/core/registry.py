"""The registry of model kinds: one entry per model family, found through entry points.

Each kind is an entry point of the ``arstudio.models`` group whose value is its model class
(arstudio's own are declared in its ``pyproject.toml``; a plug-in distribution declares its own).
Loading the entry point imports the class's module, whose ``@register(...)`` decorator states the
kind's name, modality, title and defaults once. A plug-in that fails to load, or loads but
registers no kind of its name, is reported by name (``arstudio.core.plugins.broken``) and the
rest load. ``reload()`` scans again after a plug-in is installed or removed: a kind whose entry
point has gone is dropped (one registered by the decorator alone, outside any entry point, stays).
The core names the group, never a package of ours.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from arstudio.core import plugins
from arstudio.core.plugins import sync_registry
from arstudio.core.protocol import ARModel
from arstudio.core.validate import check_config

GROUP = "arstudio.models"


class UnknownKindError(KeyError):
    """A model kind that no registered model family provides."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ModelKind:
    """A registered model family: how to build it, what it generates, what it trains on."""

    name: str
    cls: type[ARModel]
    modality: str
    title: str
    default_data: str
    default_config: dict[str, Any] = field(default_factory=dict)
    tiny_config: dict[str, Any] = field(default_factory=dict)  # for the invariant tests
    train_defaults: dict[str, Any] = field(default_factory=dict)  # steps, batch_size, lr ...
    tiny_data: str = ""  # the data set of the invariant tests, when not default_data (one needing no extra tools)

    def build(self, config: dict[str, Any] | None = None) -> ARModel:
        """A fresh model from a config, defaults filled in (the data shape is part of the config).

        Every entry is checked against the type its config dataclass declares first (ValueError, one line).
        """
        if config is not None and not isinstance(config, dict):
            raise ValueError(f"the {self.name} config must be a JSON object, got {type(config).__name__}")
        full = {**self.default_config, **(config or {})}
        check_config(getattr(self.cls, "config_class", None), full, self.name)
        return self.cls.from_config(full)


_KINDS: dict[str, ModelKind] = {}
_FROM_ENTRY_POINTS: set[str] = set()  # the kinds the last scan found through their entry points
_loaded = False


def register(name: str, *, modality: str, title: str, default_data: str, default_config: dict[str, Any] | None = None,
             tiny_config: dict[str, Any] | None = None, train_defaults: dict[str, Any] | None = None,
             tiny_data: str = "") -> Callable[[type[ARModel]], type[ARModel]]:
    """Class decorator that adds a model family to the registry under ``name``.

    ``tiny_data`` names the data set the invariant checks build tiny models on and train them on
    (``arstudio.testing``), where that should not be ``default_data`` (e.g. one needing no external tool).
    """

    def deco(cls: type[ARModel]) -> type[ARModel]:
        if name in _KINDS and _KINDS[name].cls is not cls:
            raise ValueError(f"model kind {name!r} is registered twice")
        _KINDS[name] = ModelKind(name, cls, modality, title, default_data, dict(default_config or {}),
                                 dict(tiny_config or {}), dict(train_defaults or {}), tiny_data)
        cls.kind_name = name
        return cls

    return deco


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    sync_registry(GROUP, _KINDS, _FROM_ENTRY_POINTS, lambda kind: kind.cls, "model kind",
                  "decorate the class with @arstudio.core.registry.register")


def reload() -> None:
    """Scan the entry points again now (after installing or removing a plug-in).

    Kinds of new entry points are added; kinds whose entry point has gone (or fails to load now)
    are dropped; kinds registered by the decorator outside any entry point stay.
    """
    global _loaded
    importlib.invalidate_caches()
    plugins.reset(GROUP)
    _loaded = False
    _ensure_loaded()


def modality_of(name: str) -> str:
    """The modality the kind ``name`` stated when it registered (its models' layouts take it from here)."""
    try:
        return _KINDS[name].modality
    except KeyError:
        raise UnknownKindError(f"model kind {name!r} is not registered (its class needs @register)") from None


def kinds() -> list[ModelKind]:
    """Every registered model family, in registration order."""
    _ensure_loaded()
    return list(_KINDS.values())


def get(name: str) -> ModelKind:
    """The model family called ``name``; raise ``UnknownKindError`` with the known names."""
    _ensure_loaded()
    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS)) or "none"
        raise UnknownKindError(f"unknown model kind {name!r} (known kinds: {known})") from None
