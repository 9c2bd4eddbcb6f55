"""PNG export: a batch of images as one scaled-up grid, written atomically with text chunks."""

from __future__ import annotations

import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from arstudio.core import files
from arstudio.io.atomic import atomic_write
from arstudio.io.errors import ExportError

PAD_VALUE = 128  # grey between cells, so that black and white images both stand out


def image_grid(x: np.ndarray, ncol: int | None = None, scale: int = 8, pad: int = 1) -> np.ndarray:
    """Tile images x [N, C, H, W] (floats in [0, 1]) into one uint8 picture.

    Each pixel becomes a ``scale`` x ``scale`` block; cells are ``pad`` pixels apart (and from the
    border). ``ncol`` defaults to ceil(sqrt(N)). Returns [H', W'] for C = 1, [H', W', 3] for C = 3.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"image_grid takes [N, C, H, W], got shape {list(x.shape)}")
    n, c, h, w = x.shape
    if c not in (1, 3):
        raise ValueError(f"image_grid draws 1 or 3 channels, got {c}")
    if n < 1:
        raise ValueError("image_grid needs at least one image")
    if scale < 1 or pad < 0:
        raise ValueError(f"scale must be >= 1 and pad >= 0, got scale={scale}, pad={pad}")
    ncol = max(1, min(int(ncol or math.ceil(math.sqrt(n))), n))
    nrow = math.ceil(n / ncol)
    img = np.rint(np.clip(np.nan_to_num(x.astype(np.float64)), 0.0, 1.0) * 255).astype(np.uint8)
    img = img.repeat(scale, axis=2).repeat(scale, axis=3)  # (N, C, H*s, W*s)
    ch, cw = h * scale, w * scale
    out = np.full((c, pad + nrow * (ch + pad), pad + ncol * (cw + pad)), PAD_VALUE, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, ncol)
        top, left = pad + r * (ch + pad), pad + k * (cw + pad)
        out[:, top:top + ch, left:left + cw] = img[i]
    return out[0] if c == 1 else np.ascontiguousarray(out.transpose(1, 2, 0))


def _png_info(text: dict[str, str] | None) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        value = str(value)
        try:
            value.encode("latin-1")
            info.add_text(str(key), value)
        except UnicodeEncodeError:
            info.add_itxt(str(key), value)
    return info


def write_png(path: str | os.PathLike, array: np.ndarray, text: dict[str, str] | None = None) -> Path:
    """Write a uint8 picture ([H, W] grey, [H, W, 3] RGB or [H, W, 4] RGBA) atomically.

    ``text`` goes into tEXt / iTXt chunks. Raises ExportError (one line) when the path cannot be
    written; any file already at ``path`` is then left as it was.
    """
    a = np.asarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"write_png takes uint8 pixels, got {a.dtype}")
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(f"write_png takes [H, W], [H, W, 3] or [H, W, 4], got shape {list(a.shape)}")
    image = Image.fromarray(np.ascontiguousarray(a))
    info = _png_info(text)
    return atomic_write(path, lambda f: image.save(f, format="PNG", pnginfo=info))


def read_png(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, str]]:
    """Read a PNG: its pixels as uint8 ([H, W] or [H, W, C]) and its text chunks."""
    p = Path(path)
    try:
        files.check_regular(p, "PNG file")
    except ValueError as e:
        raise ExportError(str(e)) from None
    try:
        with Image.open(p) as im:
            if im.format != "PNG":
                raise ExportError(f"{p}: is a {im.format} image, not a PNG")
            im.load()
            return np.asarray(im), {str(k): str(v) for k, v in getattr(im, "text", {}).items()}
    except FileNotFoundError:
        raise ExportError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ExportError(f"{p}: is a folder, not a PNG file") from None
    except (UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise ExportError(f"{p}: not a readable PNG ({e})") from None
    except OSError as e:
        raise ExportError(f"{p}: cannot read: {e.strerror or e}") from None


def read_png_text(path: str | os.PathLike) -> dict[str, str]:
    """The text chunks of a PNG (what a replayable export records), read without decoding a single pixel.

    The chunks are walked one by one (tEXt, zTXt, iTXt; compressed text inflated to at most 16 MiB),
    so a decompression bomb or a huge image costs nothing. ExportError (one line) when the file is
    not a readable PNG.
    """
    p = Path(path)
    try:
        data = files.read_bytes(p, "image")
    except ValueError as e:
        raise ExportError(str(e)) from None
    if not data.startswith(PNG_SIGNATURE):
        raise ExportError(f"{p}: is not a PNG file")
    out: dict[str, str] = {}
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if len(body) < n:
            raise ExportError(f"{p}: not a readable PNG (truncated {kind.decode('latin-1')!r} chunk)")
        pos += 12 + n
        if kind == b"IEND":
            return out
        try:
            item = _text_chunk(kind, body)
        except (ValueError, zlib.error, UnicodeDecodeError):
            raise ExportError(f"{p}: not a readable PNG (a broken {kind.decode('latin-1')} text chunk)") from None
        if item is not None:
            out[item[0]] = item[1]
    raise ExportError(f"{p}: not a readable PNG (it ends without an IEND chunk: truncated)")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_TEXT = 16 << 20


def _inflate(blob: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(blob, _MAX_TEXT)
    if d.unconsumed_tail:
        raise ValueError("compressed text over 16 MiB")
    return out


def _text_chunk(kind: bytes, body: bytes) -> tuple[str, str] | None:
    """(key, text) of a tEXt, zTXt or iTXt chunk; None for any other chunk."""
    if kind == b"tEXt":
        key, _, text = body.partition(b"\0")
        return key.decode("latin-1"), text.decode("latin-1")
    if kind == b"zTXt":
        key, _, rest = body.partition(b"\0")
        return key.decode("latin-1"), _inflate(rest[1:]).decode("latin-1")
    if kind == b"iTXt":
        key, _, rest = body.partition(b"\0")
        compressed, rest = rest[0], rest[2:]
        _lang, _, rest = rest.partition(b"\0")
        _translated, _, text = rest.partition(b"\0")
        return key.decode("latin-1"), (_inflate(text) if compressed else text).decode("utf-8")
    return None
