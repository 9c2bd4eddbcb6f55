"""The image modality: pixels in (C, H, W) raster order (or an ordering of them), exported as a PNG grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from arstudio.core.modality import FileFormat, Modality, RunDetail
from arstudio.core.spec import ModelSpec
from arstudio.modalities.image.cli import add_cli_args, sample_grid


def write_png_grid(path: Path, spec: ModelSpec, x: np.ndarray, text: dict[str, str], detail: RunDetail | None) -> Path:
    """Samples [B, D] as one PNG grid (values scaled to brightness), the recipe in its text chunks."""
    from arstudio.io.export import to_unit
    from arstudio.io.png import image_grid, write_png

    imgs = to_unit(spec.values, x).reshape(len(x), *spec.layout.shape)
    return write_png(path, image_grid(imgs), text)


def read_png_recipe(path: Path) -> dict[str, str]:
    """The text chunks of a PNG export (its replay recipe), read without decoding its pixels."""
    from arstudio.io.png import read_png_text

    return read_png_text(path)


def import_image(path: Path, spec: ModelSpec) -> np.ndarray:
    """A person's image file as a model's flat values [D] (the one file-to-values rule, ``load_for_model``)."""
    from arstudio.io.images import load_for_model

    return load_for_model(path, tuple(spec.layout.shape), spec.values).values


MODALITY = Modality(
    name="image",
    title="Images",
    step_unit="dim",
    example_unit="image",
    formats=(FileFormat((".png",), "PNG image", write_png_grid, read_png_recipe),),
    conditioning=("class",),
    add_cli_args=add_cli_args,
    sample_cli=sample_grid,
    import_file=import_image,
    panel="arstudio.qt.modalities.image.panel:PixelPanel",
)
