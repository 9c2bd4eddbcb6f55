"""Helpers shared by the image models: the spec of a flat image of binary or grey values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arstudio.core.spec import Layout, ModelSpec, ValueSpace


def image_spec(kind: str, config: dict[str, Any], shape: Sequence[int], values: str = "binary", levels: int = 2
               ) -> ModelSpec:
    """ModelSpec of an image model over ``shape`` (C, H, W) in raster order."""
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"an image shape is (C, H, W) with positive sizes, got {list(shape)}")
    space = ValueSpace("binary") if values == "binary" else ValueSpace("categorical", int(levels))
    return ModelSpec(kind, dict(config), Layout("image", tuple(int(s) for s in shape)), space)


def require_binary(kind: str, values: str) -> None:
    """Raise ValueError unless the data are binary."""
    if values != "binary":
        raise ValueError(f"{kind} models binary pixels; data with {values!r} values need another model")
