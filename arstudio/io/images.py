"""Images from files into a model's layout, and per-pixel maps out as colour pictures.

``read_image`` reads a PNG (or any picture Pillow reads) as uint8 pixels and refuses, in one line,
a file that is missing, empty, too large, or not an image. ``to_values`` turns pixels into a
model's flat data [D]: colour or grey as the model's channels, resized to its height and width
(padded with the background colour first, so that the aspect ratio is kept), dark ink on light
paper inverted to match the training images' light ink on black, and quantized to the model's
levels. Every change made is listed in ``ModelImage.notes``. ``heatmap_rgb`` colours a map of
non-negative values (per-pixel NLL) for the studio and for export.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from arstudio.core import files
from arstudio.core.spec import ValueSpace

MAX_FILE_BYTES = 64 * 1024 * 1024  # a bigger file is refused before it is opened
MAX_PIXELS = 40_000_000  # width x height; Pillow's own bomb check would warn above ~89 M
REDUCE_MARGIN = 4  # a picture is first shrunk (in uint8) to about this many pixels per model pixel


class ImageError(ValueError):
    """An image file that cannot be read or converted; the message says why in one line."""


@dataclass(frozen=True)
class ModelImage:
    """An image converted for a model: flat data in data order and what was done to get there."""

    values: np.ndarray  # [D] in the model's value space, (C, H, W) raster order
    notes: tuple[str, ...]  # e.g. "converted RGB to grey", "resized 100x60 to 8x8"
    source_size: tuple[int, int]  # (width, height) of the file
    source_mode: str  # Pillow's mode of the file


def _to_array(im: Image.Image) -> np.ndarray:
    """Pixels of an opened image as uint8 [H, W] (grey) or [H, W, 3] (colour); alpha composited on black."""
    mode = im.mode
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") else max(float(np.nanmax(a)) if a.size else 1.0, 1.0)
        if mode == "F" and np.nanmax(a) <= 1.0:
            top = 1.0
        return np.rint(np.clip(np.nan_to_num(a) / top, 0.0, 1.0) * 255).astype(np.uint8)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
    if mode in ("1", "L") and not has_alpha:
        return np.asarray(im.convert("L"), dtype=np.uint8)
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float64)
        rgb = rgba[..., :3] * (rgba[..., 3:] / 255.0)
        out = np.rint(rgb).astype(np.uint8)
        grey = mode in ("LA", "La") or (mode == "L")
        return out[..., 0] if grey else out
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def read_image(path: str | os.PathLike, fit: tuple[int, int] | None = None) -> tuple[np.ndarray, str]:
    """Read an image file: uint8 pixels [H, W] or [H, W, 3], and the file's Pillow mode (see ``read_image_sized``)."""
    pixels, mode, _ = read_image_sized(path, fit)
    return pixels, mode


def read_image_sized(path: str | os.PathLike, fit: tuple[int, int] | None = None
                     ) -> tuple[np.ndarray, str, tuple[int, int]]:
    """Read an image file: uint8 pixels [H, W] or [H, W, 3], the file's Pillow mode and its (width, height).

    ``fit`` (h, w): the pixels are for a model of that size, so a large picture is decoded at a
    reduced scale where the format allows it (JPEG's draft mode) and shrunk by a whole factor
    (``reduce``) before any conversion: memory follows the model's size, not the file's.
    Raises ``ImageError`` with one line for a missing, special (a FIFO), empty, huge, corrupt or
    non-image file.
    """
    p = Path(path)
    try:
        size = files.check_regular(p, "image file").st_size
    except ValueError as e:
        raise ImageError(str(e)) from None
    if size == 0:
        raise ImageError(f"{p}: is empty (0 bytes), not an image")
    if size > MAX_FILE_BYTES:
        raise ImageError(f"{p}: is {size / 2**20:.0f} MB; image files over {MAX_FILE_BYTES // 2**20} MB are refused")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
                if w < 1 or h < 1:
                    raise ImageError(f"{p}: has no pixels ({w}x{h})")
                if w * h > MAX_PIXELS:
                    raise ImageError(f"{p}: is {w}x{h} pixels; images over {MAX_PIXELS / 1e6:.0f} million pixels "
                                     "are refused")
                mode = im.mode
                if fit is not None:
                    im.draft(None, (REDUCE_MARGIN * fit[1], REDUCE_MARGIN * fit[0]))  # JPEG: decode smaller
                im.load()
                f = 1 if fit is None else reduce_factor(im.size[1], im.size[0], *fit)
                if f > 1:
                    if im.mode.startswith("I;16"):  # 16-bit grey: scaled to 8 bits, as _to_array would
                        im = im.convert("I").point(lambda v: v * (255 / 65535)).convert("L")
                    elif im.mode in ("P", "PA", "1", "CMYK", "YCbCr", "LAB", "HSV"):
                        im = im.convert("RGBA" if im.mode in ("P", "PA") and "transparency" in im.info
                                        or im.mode == "PA" else "RGB" if im.mode != "1" else "L")
                    im = im.reduce(f)
                return _to_array(im), mode, (w, h)
    except ImageError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(f"{p}: has too many pixels to be opened safely") from None
    except UnidentifiedImageError:
        raise ImageError(f"{p}: is not an image (a PNG was expected)") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as e:
        raise ImageError(f"{p}: cannot be read: it is truncated or corrupt ({e})") from None


def _resize(chan: np.ndarray, h: int, w: int) -> np.ndarray:
    """One float channel [h0, w0] in 0..255 resized to [h, w] (area average down, bilinear up)."""
    h0, w0 = chan.shape
    if (h0, w0) == (h, w):
        return chan
    im = Image.fromarray(chan.astype(np.float32), mode="F")
    down = h <= h0 and w <= w0
    out = im.resize((w, h), Image.Resampling.BOX if down else Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.float64)


def _fit_and_pad(img: np.ndarray, h: int, w: int, fill: float) -> tuple[np.ndarray, bool]:
    """[h0, w0, C] resized to fit inside h x w with its aspect ratio kept, then padded with ``fill`` to h x w.

    Resizing first means no array larger than the model's image is ever made (padding a 50000 x 1
    strip to a square at full size would take gigabytes). Returns the picture and whether it was padded.
    """
    h0, w0 = img.shape[:2]
    scale = min(h / h0, w / w0)
    th, tw = max(1, min(h, round(h0 * scale))), max(1, min(w, round(w0 * scale)))
    fitted = np.stack([_resize(img[..., k], th, tw) for k in range(img.shape[2])], axis=-1)
    if (th, tw) == (h, w):
        return fitted, False
    top, left = (h - th) // 2, (w - tw) // 2
    out = np.full((h, w, img.shape[2]), fill, dtype=np.float64)
    out[top:top + th, left:left + tw] = fitted
    return out, True


def reduce_factor(h0: int, w0: int, h: int, w: int, margin: int = REDUCE_MARGIN) -> int:
    """The whole factor by which an h0 x w0 picture can shrink and still hold ``margin`` pixels per pixel of
    its fit inside the model's h x w."""
    return max(1, int(max(h0 / h, w0 / w) / margin))


def _shrink(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """uint8 pixels [H0, W0, C] shrunk by a whole factor (Pillow's ``reduce``: box averages) towards h x w."""
    f = reduce_factor(a.shape[0], a.shape[1], h, w)
    if f <= 1 or a.dtype != np.uint8:
        return a
    im = Image.fromarray(np.ascontiguousarray(a[..., 0] if a.shape[2] == 1 else a))
    out = np.asarray(im.reduce(f))
    return out[:, :, None] if out.ndim == 2 else out


def quantize(unit: np.ndarray, space: ValueSpace) -> np.ndarray:
    """Brightness in [0, 1] to values of ``space``: threshold at 1/2, nearest of n levels, or the interval."""
    unit = np.clip(np.nan_to_num(np.asarray(unit, dtype=np.float64)), 0.0, 1.0)
    if space.kind == "binary":
        return (unit >= 0.5).astype(np.int64)
    if space.kind == "categorical":
        return np.rint(unit * (space.n - 1)).astype(np.int64)
    return space.low + unit * (space.high - space.low)


def to_values(pixels: np.ndarray, shape: tuple[int, ...], space: ValueSpace, match_background: bool = True,
              mode: str = "", source: str = "the image", source_size: tuple[int, int] | None = None) -> ModelImage:
    """Convert uint8 pixels [H0, W0] or [H0, W0, 3] to a model's flat data [C * H * W] in ``space``.

    ``shape`` is (C, H, W) with C = 1 (grey) or 3 (RGB). With ``match_background`` an image on a
    light background is inverted, since the studio's data sets draw light ink on black.
    """
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise ImageError(f"{source}: the model's layout {list(shape)} is not a grey or RGB image")
    c, h, w = (int(s) for s in shape)
    a = np.asarray(pixels)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3) or a.shape[0] < 1 or a.shape[1] < 1:
        raise ImageError(f"{source}: pixels of shape {list(np.shape(pixels))} are not a grey or RGB image")
    w0, h0 = source_size if source_size is not None else (a.shape[1], a.shape[0])  # the file's, before any reduce
    img = _shrink(a, h, w).astype(np.float64)  # floats only at a few times the model's size, never the file's
    notes: list[str] = []
    if c == 1 and img.shape[2] == 3:
        if not (np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 0], img[..., 2])):
            notes.append(f"converted {mode or 'colour'} to grey")
        img = (img @ np.array([0.299, 0.587, 0.114]))[:, :, None]
    elif c == 3 and img.shape[2] == 1:
        notes.append("grey copied into R, G and B")
        img = np.repeat(img, 3, axis=2)
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).mean(axis=1)
    background = float(np.median(border))
    if match_background and background > 127.5:
        img = 255.0 - img
        background = 255.0 - background
        notes.append("inverted (dark ink on a light background)")
    if img.shape[:2] != (h, w):
        img, padded = _fit_and_pad(img, h, w, background)
        kept = " (padded to keep its aspect ratio)" if padded else ""
        notes.append(f"resized {w0}x{h0} to {w}x{h}{kept}")
    unit = np.clip(img / 255.0, 0.0, 1.0).transpose(2, 0, 1)  # (C, H, W)
    values = quantize(unit, space)
    if space.discrete:
        back = values / max(space.n - 1, 1)
        if not np.allclose(back, unit, atol=0.6 / 255):  # 8-bit pixels are as close as they can be
            notes.append("thresholded to black and white" if space.kind == "binary"
                         else f"quantized to {space.n} grey levels")
    return ModelImage(values.reshape(-1), tuple(notes), (w0, h0), mode)


def load_for_model(path: str | os.PathLike, shape: tuple[int, ...], space: ValueSpace,
                   match_background: bool = True) -> ModelImage:
    """``read_image`` then ``to_values``: a file as a model's flat data, or ``ImageError`` saying why not."""
    fit = (int(shape[1]), int(shape[2])) if len(shape) == 3 else None
    pixels, mode, size = read_image_sized(path, fit)
    return to_values(pixels, shape, space, match_background, mode, str(path), size)


# ---- colour maps ------------------------------------------------------------------------------
_HEAT_STOPS = np.array([  # position, r, g, b: black, deep violet, crimson, orange, pale yellow
    [0.00, 0, 0, 4], [0.25, 60, 15, 110], [0.50, 180, 40, 80], [0.75, 245, 130, 30], [1.00, 252, 250, 190]])


def heat_lut() -> np.ndarray:
    """The studio's heat colour map: 256 x 3 uint8, dark (low NLL) to bright (high NLL)."""
    t = np.linspace(0.0, 1.0, 256)
    cols = [np.interp(t, _HEAT_STOPS[:, 0], _HEAT_STOPS[:, k]) for k in (1, 2, 3)]
    return np.rint(np.stack(cols, axis=1)).astype(np.uint8)


def heatmap_rgb(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """Colour a map [H, W] of values >= 0 (0 .. ``vmax``, default its maximum) as uint8 [H, W, 3]; NaN grey."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    top = float(vmax) if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    top = top if top > 0 else 1.0
    idx = np.rint(np.clip(np.nan_to_num(v, nan=0.0) / top, 0.0, 1.0) * 255).astype(np.int64)
    out = heat_lut()[idx]
    out[~np.isfinite(v)] = 128
    return out


def heatmap_figure(image: np.ndarray, values: np.ndarray, vmax: float | None = None, scale: int = 16,
                   gap: int = 8) -> np.ndarray:
    """An image [C, H, W] (floats in [0, 1]) beside its heatmap [H, W] and a colour bar, as uint8 RGB."""
    img = np.clip(np.nan_to_num(np.asarray(image, dtype=np.float64)), 0.0, 1.0)
    if img.ndim != 3 or img.shape[0] not in (1, 3):
        raise ValueError(f"heatmap_figure takes an image [C, H, W] with C = 1 or 3, got {list(img.shape)}")
    _, h, w = img.shape
    if np.shape(values) != (h, w):
        raise ValueError(f"the heatmap {list(np.shape(values))} does not match the image {h}x{w}")
    left = np.rint(np.repeat(img, 3 // img.shape[0], axis=0).transpose(1, 2, 0) * 255).astype(np.uint8)
    right = heatmap_rgb(values, vmax)
    bar = heat_lut()[np.linspace(255, 0, h * scale).astype(np.int64)][:, None, :]
    big = lambda a: a.repeat(scale, axis=0).repeat(scale, axis=1)  # noqa: E731
    hh, ww = h * scale, w * scale
    out = np.full((hh + 2 * gap, 2 * ww + 4 * gap + max(scale, 8), 3), 40, dtype=np.uint8)
    out[gap:gap + hh, gap:gap + ww] = big(left)
    out[gap:gap + hh, 2 * gap + ww:2 * gap + 2 * ww] = big(right)
    out[gap:gap + hh, 3 * gap + 2 * ww:3 * gap + 2 * ww + max(scale, 8)] = bar
    return out
