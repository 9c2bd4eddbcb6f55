"""glyphs28: MNIST-sized 28x28 grey images of digits and letters, rendered by the project from offline fonts.

Each image is one of 36 classes (0-9, A-Z) drawn with a TrueType font found offline: Pillow's
bundled default font (Aileron Regular, via ``ImageFont.load_default(size=...)``, Pillow >= 10.1
with FreeType) and the DejaVu fonts where the system has them. Every (font, class, stroke width)
is rendered once at twice the size as a template; each image is then the template under a random
affine jitter (rotation, scale, shear, translation), reduced 2x with a box filter, scaled to a
random ink level, with Gaussian noise of a random strength, and quantized to 8 grey levels
(``ValueSpace("categorical", 8)``: level v stands for grey v / 7). Generation is seeded and takes
about a second for the 12,000 images; ``get_dataset`` keeps them in memory.

The fonts found are named in the data set's description: a machine without DejaVu renders the
same seed with Pillow's font alone, so its images differ. The split (10,000 / 1,000 / 1,000) is
recorded as indices like every data set's.
"""

from __future__ import annotations

import importlib.util
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, features

from arstudio.core.spec import Layout, ValueSpace
from arstudio.data.datasets import Dataset, fixed_split, register_dataset

CLASSES = tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
"""Class names; label k is CLASSES[k]."""

SIZE, LEVELS, N_IMAGES, N_VALID, N_TEST, SEED = 28, 8, 12000, 1000, 1000, 0
STROKES = (0, 1, 3)  # stroke widths at the 2x template scale
_DEJAVU = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")
_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"), "/Library/Fonts",
              "/System/Library/Fonts", "C:/Windows/Fonts")


def _font_dirs() -> list[str]:
    """System font folders, then matplotlib's bundled DejaVu folder where matplotlib is installed (not imported)."""
    dirs = list(_FONT_DIRS)
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        dirs += [str(Path(p) / "mpl-data" / "fonts" / "ttf") for p in spec.submodule_search_locations]
    return dirs


def _find_font_file(name: str) -> Path | None:
    for d in _font_dirs():
        root = Path(d)
        if root.is_dir():
            hit = next(iter(sorted(root.rglob(name))), None)
            if hit is not None:
                return hit
    return None


def available_fonts(size: int) -> list[tuple[str, ImageFont.FreeTypeFont | ImageFont.ImageFont]]:
    """(name, font) pairs found offline at ``size`` points: Pillow's bundled font first, then DejaVu."""
    fonts: list[tuple[str, ImageFont.FreeTypeFont | ImageFont.ImageFont]] = []
    if features.check("freetype2"):
        fonts.append(("Pillow default (Aileron)", ImageFont.load_default(size=size)))
        for name in _DEJAVU:
            path = _find_font_file(name)
            if path is not None:
                try:
                    fonts.append((path.stem, ImageFont.truetype(str(path), size)))
                except OSError:
                    continue
    if not fonts:  # no FreeType: Pillow's small bitmap font, scaled up when the template is drawn
        fonts.append(("Pillow bitmap", ImageFont.load_default()))
    return fonts


def _template(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, char: str, stroke: int, size: int) -> Image.Image:
    """The glyph in white on black, centred on a (2 size)^2 canvas ('L' mode)."""
    big = 2 * size
    if not isinstance(font, ImageFont.FreeTypeFont):  # bitmap fallback: draw small, then scale up
        small = Image.new("L", (16, 16))
        ImageDraw.Draw(small).text((4, 2), char, fill=255, font=font)
        return small.resize((big, big), Image.Resampling.BILINEAR)
    canvas = Image.new("L", (big, big))
    draw = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = draw.textbbox((0, 0), char, font=font, stroke_width=stroke)
    pos = ((big - (x1 - x0)) / 2 - x0, (big - (y1 - y0)) / 2 - y0)
    draw.text(pos, char, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    return canvas


def _affine(angle: float, scale: float, shear: float, dx: float, dy: float, size: int) -> tuple[float, ...]:
    """PIL's AFFINE data: the map from output pixel to template pixel for a (2 size)^2 output."""
    c, s = math.cos(angle), math.sin(angle)
    fwd = np.array([[c, -s], [s, c]]) @ np.array([[1.0, shear], [0.0, 1.0]]) * scale  # template -> output
    inv = np.linalg.inv(fwd)
    centre = size  # both canvases are 2 size wide
    off = np.array([centre, centre]) - inv @ np.array([centre + 2 * dx, centre + 2 * dy])
    return (inv[0, 0], inv[0, 1], off[0], inv[1, 0], inv[1, 1], off[1])


def render_glyphs(n: int, seed: int = SEED, levels: int = LEVELS, size: int = SIZE
                  ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``n`` jittered glyph images: (images [n, size, size] int64 in 0..levels-1, labels [n], font names)."""
    fonts = available_fonts(int(round(size * 1.45)))
    templates = [[[_template(f, ch, st, size) for st in STROKES] for ch in CLASSES] for _, f in fonts]
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASSES))
    font_idx = rng.integers(len(fonts), size=n)
    stroke_idx = rng.integers(len(STROKES), size=n)
    angle = rng.uniform(-12, 12, size=n) * math.pi / 180
    scale = rng.uniform(0.8, 1.05, size=n)
    shear = rng.uniform(-0.2, 0.2, size=n)
    shift = rng.uniform(-2.0, 2.0, size=(n, 2))
    ink = rng.uniform(0.75, 1.0, size=n)
    sigma = rng.uniform(0.0, 0.04, size=n)
    noise = rng.standard_normal((n, size, size)).astype(np.float32)
    out = np.empty((n, size, size), dtype=np.float32)
    big = 2 * size
    for k in range(n):
        tpl = templates[font_idx[k]][labels[k]][stroke_idx[k]]
        data = _affine(angle[k], scale[k], shear[k], shift[k, 0], shift[k, 1], size)
        img = tpl.transform((big, big), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR).reduce(2)
        out[k] = np.asarray(img, dtype=np.float32)
    out = out * (ink[:, None, None] / 255.0) + sigma[:, None, None] * noise
    q = np.rint(np.clip(out, 0.0, 1.0) * (levels - 1)).astype(np.int64)
    return q, labels.astype(np.int64), [name for name, _ in fonts]


@lru_cache(maxsize=4)
def _glyphs(n: int, seed: int, levels: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    x, y, names = render_glyphs(n, seed, levels)
    return x, y, tuple(names)


@register_dataset("glyphs28", modality="image")
def glyphs28() -> Dataset:
    """12,000 jittered 28x28 glyphs of 36 classes at 8 grey levels, split 10,000 / 1,000 / 1,000."""
    x, y, names = _glyphs(N_IMAGES, SEED, LEVELS)
    split = fixed_split(len(x), N_VALID, N_TEST, seed=0)
    flat, labels = torch.as_tensor(x.reshape(len(x), -1)), torch.as_tensor(y)
    parts = {k: flat[idx] for k, idx in split.items()}
    description = (f"28x28 glyphs (0-9, A-Z; 36 classes), {LEVELS} grey levels, seed {SEED}; "
                   f"fonts: {', '.join(names)}")
    return Dataset("glyphs28", description, Layout("image", (1, SIZE, SIZE)),
                   ValueSpace("categorical", LEVELS), parts["train"], parts["valid"], parts["test"], split,
                   {k: labels[idx] for k, idx in split.items()})
