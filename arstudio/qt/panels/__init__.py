"""Modality panels, one file each: a file that defines ``PANEL`` (a ``ModalityPanel``) is found by its modality.

Adding a modality is adding one file here; nothing else lists the panels.
"""

from __future__ import annotations

import importlib
import pkgutil

from arstudio.qt.panel import ModalityPanel


def panel_classes() -> dict[str, type[ModalityPanel]]:
    """Every panel in this package, by modality."""
    out: dict[str, type[ModalityPanel]] = {}
    for m in pkgutil.iter_modules(__path__):
        if m.name.startswith("_"):
            continue
        cls = getattr(importlib.import_module(f"{__name__}.{m.name}"), "PANEL", None)
        if isinstance(cls, type) and issubclass(cls, ModalityPanel) and cls.modality:
            out[cls.modality] = cls
    return out


def panel_class(modality: str) -> type[ModalityPanel]:
    """The panel that shows ``modality``; KeyError names the ones there are."""
    classes = panel_classes()
    if modality not in classes:
        raise KeyError(f"no studio panel shows {modality!r} models yet (panels: {', '.join(sorted(classes))})")
    return classes[modality]
