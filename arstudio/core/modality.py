"""Modalities as plug-ins: what the studio and the command line know of one kind of output.

A modality (image, text; audio and music next) is one GUI-free ``Modality`` object, found through
the ``arstudio.modalities`` entry-point group. It holds everything that would otherwise be decided
by comparing a modality's name in many places: the units of a step and of an example, the file
formats its samples are exported as (each with the reader of its replay recipe), its command-line
arguments and the modality-specific halves of ``sample`` and ``eval``, the import of a user's file,
the conditioning it takes, and the dotted path of its studio panel (imported by ``arstudio.qt`` only).

A model kind names its modality once (``register(..., modality=...)``); its layout and its
checkpoints' metadata take it from there. Data sets name theirs when they register.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arstudio.core.plugins import load_group, report_broken
from arstudio.core.spec import ModelSpec

GROUP = "arstudio.modalities"


class UnknownModalityError(ValueError):
    """A modality that no installed plug-in provides."""


@dataclass(frozen=True)
class RunDetail:
    """What a run knows besides its values, for formats that record it (a text export's per-token log p).

    Arrays are in step order: ``log_prob`` [B, T] in nats (NaN where not taken), ``given`` [T] True
    where the value was kept (a prompt, a branch's prefix) or forced, ``prefix_len`` the kept steps.
    """

    log_prob: np.ndarray
    given: np.ndarray
    prefix_len: int = 0


WriteFn = Callable[[Path, ModelSpec, np.ndarray, dict[str, str], "RunDetail | None"], Path]
ReadFn = Callable[[Path], dict[str, str]]


@dataclass(frozen=True)
class FileFormat:
    """One way samples of a modality are written: the suffixes, the writer, the reader of its recipe.

    ``write(path, spec, x [B, D], text, detail) -> path`` writes atomically and records ``text`` (the
    replay recipe) in the file; ``read_recipe(path) -> text`` gives it back, or is None when the
    format has no room for it (plain .txt).
    """

    suffixes: tuple[str, ...]
    description: str
    write: WriteFn
    read_recipe: ReadFn | None = None

    def file_filter(self) -> str:
        """A save dialog's filter, e.g. ``PNG image (*.png)``."""
        return f"{self.description} ({' '.join('*' + s for s in self.suffixes)})"


SampleFn = Callable[[argparse.Namespace, Path, Any, Any], dict[str, str]]
EvalFn = Callable[[argparse.Namespace, Path, Any, Any], "int | None"]
ArgsFn = Callable[[str, argparse.ArgumentParser], None]
ImportFn = Callable[[Path, ModelSpec], np.ndarray]


@dataclass(frozen=True)
class Modality:
    """Everything arstudio knows of one modality outside its model files and its panel."""

    name: str  # "image"
    title: str  # "Images", for menus
    step_unit: str  # what one step is: "dim" (bits/dim), "token" (bits/token), "sample" ...
    example_unit: str  # what one held-out example is: "image", "window", "clip" ...
    formats: tuple[FileFormat, ...]  # export formats, the default first
    conditioning: tuple[str, ...] = ()  # what a model of it may be given: "class", "prompt", "caption" ...
    add_cli_args: ArgsFn | None = None  # add_cli_args(command, parser): its options of `sample` / `eval`
    sample_cli: SampleFn | None = None  # the modality's half of `arstudio sample`; returns the recipe text
    eval_cli: EvalFn | None = None  # its options of `arstudio eval`; None (returned) = held-out NLL as usual
    import_file: ImportFn | None = None  # a user's file -> values [D] for a model with ``spec``
    on_load: Callable[[Path, Any], None] | None = None  # prepares a loaded model for display (token labels)
    panel: str = ""  # "arstudio.qt.modalities.image.panel:PixelPanel"; imported by arstudio.qt only

    def format_for(self, path: str | os.PathLike) -> FileFormat:
        """The export format for ``path``'s suffix; ValueError names the suffixes there are."""
        suffix = Path(path).suffix.lower()
        for f in self.formats:
            if suffix in f.suffixes:
                return f
        if not self.formats:
            raise ValueError(f"samples of {self.name!r} models cannot be exported")
        names = " or ".join(s for f in self.formats for s in f.suffixes)
        raise ValueError(f"{Path(path)}: {self.name} samples are written as {names} files; "
                         f"give a path ending in {self.formats[0].suffixes[0]}")

    @property
    def suffixes(self) -> tuple[str, ...]:
        """Every suffix its formats write, the default first."""
        return tuple(s for f in self.formats for s in f.suffixes)


def modalities() -> dict[str, Modality]:
    """Every installed modality by name; a plug-in that is not a ``Modality`` is reported and skipped."""
    out: dict[str, Modality] = {}
    for name, obj in load_group(GROUP).items():
        if not isinstance(obj, Modality):
            _report_once(name, f"is a {type(obj).__name__}, not an arstudio Modality")
        elif obj.name != name:
            _report_once(name, f"calls itself {obj.name!r}; its entry point must have the same name")
        else:
            out[name] = obj
    return out


_reported: set[str] = set()


def _report_once(name: str, error: str) -> None:
    if name not in _reported:
        _reported.add(name)
        report_broken(GROUP, name, "", error)


def get_modality(name: str) -> Modality:
    """The modality called ``name``; UnknownModalityError lists the installed ones."""
    found = modalities()
    if name not in found:
        raise UnknownModalityError(f"no installed modality {name!r} (installed: {', '.join(sorted(found)) or 'none'})")
    return found[name]


def modality_for_suffix(path: str | os.PathLike) -> tuple[Modality, FileFormat]:
    """The modality and format whose recipe reader takes ``path``'s suffix; ValueError when none does."""
    suffix = Path(path).suffix.lower()
    for m in modalities().values():
        for f in m.formats:
            if suffix in f.suffixes and f.read_recipe is not None:
                return m, f
    known = sorted({s for m in modalities().values() for f in m.formats if f.read_recipe for s in f.suffixes})
    raise ValueError(f"{Path(path)}: cannot replay {suffix or 'suffix-less'} files (replayable: {', '.join(known) or 'none'})")


def step_unit(name: str) -> str:
    """``dim`` / ``token`` ...: what one step of a ``name`` model is, for "bits per ..." (dim if unknown)."""
    try:
        return get_modality(name).step_unit
    except UnknownModalityError:
        return "dim"


def example_unit(name: str) -> str:
    """``image`` / ``window`` ...: what one held-out example is, for "nats per ..." (example if unknown)."""
    try:
        return get_modality(name).example_unit
    except UnknownModalityError:
        return "example"


def nll_figures(metrics: dict[str, Any], modality: str, split: str = "test") -> tuple[str, str]:
    """A checkpoint's held-out NLL as two labelled figures: nats per example and bits per step ("" if unknown).

    A text model is given in bits per character (its steps are tokens of different lengths, so
    that is the figure that compares across tokenizers); the others per step of their modality:
    ``("15.85 nats/image", "0.3573 bits/dim")``, ``("931.00 nats/window", "1.8325 bits/char")``.
    """
    def number(key: str) -> float | None:
        v = metrics.get(f"{split}_{key}")
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) else None

    nats = number("nats")
    per_example = f"{nats:.2f} nats/{example_unit(modality)}" if nats is not None else ""
    for key, unit in (("bits_per_char", "char"), ("bits_per_dim", step_unit(modality))):
        v = number(key)
        if v is not None:
            return per_example, f"{v:.4f} bits/{unit}"
    return per_example, ""


def plural(n: int, word: str) -> str:
    """``1 sample``, ``16 samples``: a count with its noun (the last word takes the -s)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
