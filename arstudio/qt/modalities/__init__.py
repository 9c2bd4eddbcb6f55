"""One package per modality's studio side (panel, its views, its analysis), found through its ``Modality``.

A modality plug-in names its panel by dotted path (``Modality.panel``); only this package imports it.
"""

from __future__ import annotations

import importlib

from arstudio.core.modality import UnknownModalityError, get_modality
from arstudio.qt.panel import ModalityPanel


def panel_class(modality: str) -> type[ModalityPanel]:
    """The panel that shows ``modality``; KeyError says why there is none."""
    try:
        path = get_modality(modality).panel
    except UnknownModalityError as e:
        raise KeyError(str(e)) from None
    if not path:
        raise KeyError(f"the {modality} modality has no studio panel")
    module, _, name = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise KeyError(f"the {modality} modality's panel {path} cannot be loaded ({type(e).__name__}: {e})") from None
    if not (isinstance(cls, type) and issubclass(cls, ModalityPanel)):
        raise KeyError(f"the {modality} modality's panel {path} is not a ModalityPanel")
    return cls
