"""shapes32: 32x32 RGB images of coloured shapes with captions, drawn by the project (seeded, offline).

Each image holds one or two shapes (circle, square, triangle, diamond, cross) in one of eight
colours and two sizes, on a dark grey background with mild pixel noise. A one-shape scene is
captioned with its place on a 3 x 3 grid ("a large red circle at the top left"); a two-shape
scene puts the shapes in opposite halves and is captioned with their relation ("a small blue
square left of a large yellow cross"). Shapes are drawn at 2x and box-filtered, so edges are
anti-aliased. Pixels are 256 levels per channel, stored (C, H, W) flat as uint8 (10,000 images
take 31 MB that way).

``render_scenes(n, seed)`` is the generator, shared with text-to-image work: it returns the
images and a ``Scenes`` record of every image's caption and per-shape attributes (shape, colour,
size, centre), whose ground truth lets a checker score an image against its caption. The
``shapes32`` data set is 10,000 scenes of seed 0 split 8,000 / 1,000 / 1,000; its labels are the
first shape's class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from arstudio.core.spec import Layout, ValueSpace
from arstudio.data.datasets import Dataset, fixed_split, register_dataset

SHAPES = ("circle", "square", "triangle", "diamond", "cross")
COLOURS = {"red": (220, 45, 40), "green": (45, 175, 70), "blue": (50, 95, 230), "yellow": (235, 210, 45),
           "magenta": (205, 55, 200), "cyan": (45, 200, 215), "white": (235, 235, 235), "orange": (245, 140, 35)}
COLOUR_NAMES = tuple(COLOURS)
SIZES = ("small", "large")
RADII = ((3.5, 5.0), (6.0, 7.5))  # radius range in pixels, per size
RELATIONS = ("left of", "right of", "above", "below")
ROWS, COLS = ("top", "middle", "bottom"), ("left", "centre", "right")
SIZE, N_IMAGES, N_VALID, N_TEST, SEED = 32, 10000, 1000, 1000, 0
SUPER = 2  # supersampling factor


@dataclass
class Scenes:
    """Ground truth of n scenes: captions and, per shape slot (2), its attributes; -1 where a slot is empty."""

    captions: list[str]
    count: np.ndarray  # [n] shapes in the scene, 1 or 2
    shape: np.ndarray  # [n, 2] index into SHAPES
    colour: np.ndarray  # [n, 2] index into COLOUR_NAMES
    size: np.ndarray  # [n, 2] index into SIZES
    centre: np.ndarray  # [n, 2, 2] (x, y) in pixels, float
    radius: np.ndarray  # [n, 2] in pixels
    relation: np.ndarray  # [n] index into RELATIONS of shape 0 to shape 1; -1 for one shape


def _place(x: float, y: float) -> str:
    row, col = ROWS[min(int(y * 3 / SIZE), 2)], COLS[min(int(x * 3 / SIZE), 2)]
    if row == "middle" and col == "centre":
        return "in the centre"
    if row == "middle":
        return f"at the {col}"
    return f"at the {row}" if col == "centre" else f"at the {row} {col}"


def _phrase(s: Scenes, i: int, k: int) -> str:
    return f"a {SIZES[s.size[i, k]]} {COLOUR_NAMES[s.colour[i, k]]} {SHAPES[s.shape[i, k]]}"


def caption(s: Scenes, i: int) -> str:
    """The caption of scene i from its attributes."""
    if s.count[i] == 1:
        return f"{_phrase(s, i, 0)} {_place(*s.centre[i, 0])}"
    return f"{_phrase(s, i, 0)} {RELATIONS[s.relation[i]]} {_phrase(s, i, 1)}"


def _sample_scenes(n: int, rng: np.random.Generator) -> Scenes:
    count = 1 + (rng.random(n) < 0.5)
    shape = rng.integers(len(SHAPES), size=(n, 2))
    colour = rng.integers(len(COLOURS), size=(n, 2))
    size = rng.integers(len(SIZES), size=(n, 2))
    lo, hi = np.array([r[0] for r in RADII])[size], np.array([r[1] for r in RADII])[size]
    radius = lo + (hi - lo) * rng.random((n, 2))
    two = count == 2
    colour[two, 1] = (colour[two, 0] + rng.integers(1, len(COLOURS), size=int(two.sum()))) % len(COLOURS)
    u = rng.random((n, 2, 2))
    centre = radius[..., None] + 0.5 + u * (SIZE - 1.0 - 2 * radius[..., None])  # anywhere the shape fits
    # Two shapes: shape 0 in one half and shape 1 in the other along a random axis.
    relation = np.where(two, rng.integers(len(RELATIONS), size=n), -1)
    axis = np.where(relation >= 2, 1, 0)  # 0: x (left / right), 1: y (above / below)
    first = relation % 2 == 0  # shape 0 left of / above shape 1
    half = SIZE / 2
    for k in (0, 1):
        in_low = first if k == 0 else ~first
        r = radius[:, k]
        span = np.maximum(half - 2 * r - 1.0, 0.0)
        pos = r + 0.5 + u[:, k, 0] * span  # within [0, 16) when in the low half
        pos = np.where(in_low, pos, SIZE - pos)
        rows = np.nonzero(two)[0]
        centre[rows, k, axis[rows]] = pos[rows]
    for arr in (shape, colour, size, radius):
        arr[~two, 1] = -1
    centre[~two, 1] = -1.0
    s = Scenes([], count, shape, colour, size, centre, radius, relation)
    s.captions = [caption(s, i) for i in range(n)]
    return s


def _coverage(shape: int, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Inside-mask of one shape kind on supersampled offsets dx, dy [m, S, S] from centres, radii r [m, 1, 1]."""
    if shape == 0:  # circle
        return dx * dx + dy * dy <= r * r
    if shape == 1:  # square
        return np.maximum(np.abs(dx), np.abs(dy)) <= 0.85 * r
    if shape == 2:  # triangle pointing up: apex at -r, base at +0.75 r
        return (dy <= 0.75 * r) & (np.abs(dx) <= (dy + r) / 1.75)
    if shape == 3:  # diamond
        return np.abs(dx) + np.abs(dy) <= 1.15 * r
    arm = 0.35 * r  # cross (plus sign)
    return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))


def _render(s: Scenes, rng: np.random.Generator) -> np.ndarray:
    """Images [n, 3, 32, 32] uint8 of the scenes; each shape is drawn in a 16 x 16 box around its centre."""
    n = len(s.count)
    bg = rng.integers(0, 70, size=(n, 1, 1, 1)).astype(np.float32)
    img = np.broadcast_to(bg, (n, 3, SIZE, SIZE)).copy()
    box = 16  # holds a shape of radius <= 7.5 around floor(centre)
    sub = (np.arange(box * SUPER, dtype=np.float32) + 0.5) / SUPER  # supersample centres within a box
    palette = np.array(list(COLOURS.values()), dtype=np.float32)
    jitter = rng.normal(0.0, 12.0, size=(n, 2, 3)).astype(np.float32)
    ar, ch = np.arange(box), np.arange(3)[None, :, None, None]
    for k in (0, 1):
        for kind in range(len(SHAPES)):
            part = np.nonzero(s.shape[:, k] == kind)[0]
            if len(part) == 0:
                continue
            cx, cy = s.centre[part, k, 0].astype(np.float32), s.centre[part, k, 1].astype(np.float32)
            x0 = np.clip(np.floor(cx).astype(np.int64) - box // 2, 0, SIZE - box)
            y0 = np.clip(np.floor(cy).astype(np.int64) - box // 2, 0, SIZE - box)
            dx = (x0[:, None] + sub[None, :] - cx[:, None])[:, None, :]  # (m, 1, 2 box)
            dy = (y0[:, None] + sub[None, :] - cy[:, None])[:, :, None]  # (m, 2 box, 1)
            r = s.radius[part, k].astype(np.float32)[:, None, None]
            m = _coverage(kind, dx, dy, r)  # (m, 2 box, 2 box)
            a = m.reshape(len(part), box, SUPER, box, SUPER).mean(axis=(2, 4), dtype=np.float32)[:, None]
            col = np.clip(palette[s.colour[part, k]] + jitter[part, k], 0, 255)[:, :, None, None]  # (m, 3, 1, 1)
            where = (part[:, None, None, None], ch, (y0[:, None] + ar)[:, None, :, None],
                     (x0[:, None] + ar)[:, None, None, :])
            img[where] = img[where] * (1 - a) + col * a
    img += rng.standard_normal((n, 1, SIZE, SIZE), dtype=np.float32) * 2.0  # grey pixel noise
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def render_scenes(n: int, seed: int = SEED) -> tuple[np.ndarray, Scenes]:
    """n seeded scenes: images [n, 3, 32, 32] uint8 and their ground truth (captions, attributes)."""
    rng = np.random.default_rng(seed)
    scenes = _sample_scenes(n, rng)
    return _render(scenes, rng), scenes


_SCENES: dict[int, Scenes] = {}


def scenes(seed: int = SEED) -> Scenes:
    """Ground truth of the shapes32 images (indexed like the data set's split indices)."""
    if seed not in _SCENES:
        _SCENES[seed] = render_scenes(N_IMAGES, seed)[1]
    return _SCENES[seed]


@register_dataset("shapes32", modality="image")
def shapes32() -> Dataset:
    """10,000 captioned 32x32 RGB shape scenes, 256 levels per channel, split 8,000 / 1,000 / 1,000."""
    x, s = render_scenes(N_IMAGES, SEED)
    _SCENES[SEED] = s
    split = fixed_split(N_IMAGES, N_VALID, N_TEST, seed=SEED)
    flat = torch.from_numpy(x.reshape(N_IMAGES, -1))
    labels = torch.as_tensor(s.shape[:, 0], dtype=torch.long)
    return Dataset("shapes32", "32x32 RGB coloured shapes with captions, 256 levels (C, H, W)",
                   Layout("image", (3, SIZE, SIZE)), ValueSpace("categorical", 256),
                   flat[split["train"]], flat[split["valid"]], flat[split["test"]], split,
                   {k: labels[idx] for k, idx in split.items()})
