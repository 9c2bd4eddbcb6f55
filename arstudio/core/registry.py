"""The registry of model kinds: one entry per model family, filled by ``arstudio.models``.

The core imports nothing of ours but ``nn``; model modules register themselves with
``@register(...)`` when ``arstudio.models`` is imported. ``get`` and ``kinds`` import that
package by name the first time they are asked (plugin discovery, like an entry point).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from arstudio.core.protocol import ARModel


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

    def build(self, config: dict[str, Any] | None = None) -> ARModel:
        """A fresh model from a config, defaults filled in (the data shape is part of the config)."""
        return self.cls.from_config({**self.default_config, **(config or {})})


_KINDS: dict[str, ModelKind] = {}
_loaded = False


def register(name: str, *, modality: str, title: str, default_data: str, default_config: dict[str, Any] | None = None,
             tiny_config: dict[str, Any] | None = None, train_defaults: dict[str, Any] | None = None
             ) -> Callable[[type[ARModel]], type[ARModel]]:
    """Class decorator that adds a model family to the registry under ``name``."""

    def deco(cls: type[ARModel]) -> type[ARModel]:
        if name in _KINDS and _KINDS[name].cls is not cls:
            raise ValueError(f"model kind {name!r} is registered twice")
        _KINDS[name] = ModelKind(name, cls, modality, title, default_data, dict(default_config or {}),
                                 dict(tiny_config or {}), dict(train_defaults or {}))
        cls.kind_name = name
        return cls

    return deco


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        importlib.import_module("arstudio.models")
        _loaded = True


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
