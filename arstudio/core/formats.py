"""Opening a checkpoint of any installed format: arstudio's .safetensors files, or a folder a format plug-in claims.

Formats from outside (a Hugging Face GPT-2 folder) are ``CheckpointFormat`` plug-ins in the
``arstudio.formats`` entry-point group; after loading, the model's modality may prepare it for
display (``Modality.on_load``: a text model's token labels).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from arstudio.core.checkpoint import CheckpointError, CheckpointMeta, load_checkpoint
from arstudio.core.modality import UnknownModalityError, get_modality
from arstudio.core.plugins import load_group, report_broken
from arstudio.core.protocol import ARModel

GROUP = "arstudio.formats"


@dataclass(frozen=True)
class CheckpointFormat:
    """A checkpoint layout from outside arstudio: which paths it claims and how it opens them."""

    name: str
    description: str  # "a Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer files)"
    claims: Callable[[Path], bool]
    open: Callable[[Path, "str | torch.device"], tuple[ARModel, CheckpointMeta]]


def checkpoint_formats() -> list[CheckpointFormat]:
    """Every installed checkpoint format (besides arstudio's own .safetensors files)."""
    out = []
    for name, obj in load_group(GROUP).items():
        if isinstance(obj, CheckpointFormat):
            out.append(obj)
        elif name not in _reported:
            _reported.add(name)
            report_broken(GROUP, name, "", f"is a {type(obj).__name__}, not a CheckpointFormat")
    return out


_reported: set[str] = set()


def open_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[Any, CheckpointMeta]:
    """(model, meta) of an arstudio checkpoint file or of a folder an installed format claims.

    Errors are ``CheckpointError`` with one line.
    """
    p = Path(path)
    if p.is_dir():
        fmt = next((f for f in checkpoint_formats() if f.claims(p)), None)
        if fmt is None:
            kinds = "; ".join(f.description for f in checkpoint_formats())
            raise CheckpointError(f"{p}: is a folder, not a .safetensors checkpoint, and no installed format "
                                  f"reads it" + (f" (folders that open: {kinds})" if kinds else ""))
        model, meta = fmt.open(p, device)
    else:
        model, meta = load_checkpoint(p, device)
    try:
        hook = get_modality(model.spec.layout.modality).on_load
    except UnknownModalityError:
        hook = None
    if hook is not None:
        hook(p, model)
    return model, meta
