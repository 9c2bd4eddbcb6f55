"""The registry of benchmarks: name -> function returning ``BenchResult``s.

Every module in ``arstudio/bench/`` (but the machinery) is imported on first use, so a later
issue adds a benchmark by writing a module with a ``@register_bench`` function.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from arstudio.bench.result import BenchResult


@dataclass(frozen=True)
class BenchOptions:
    """Settings every benchmark honours: ``quick`` shrinks sizes and timings to a smoke run."""

    quick: bool = False
    threads: int | None = None


class BenchSkipped(Exception):
    """A benchmark that cannot run here (e.g. a module not written yet); the message says why."""


BenchFn = Callable[[BenchOptions], list[BenchResult]]


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark and what it measures."""

    name: str
    description: str
    fn: BenchFn


_BENCHES: dict[str, Benchmark] = {}
_NOT_BENCHES = {"registry", "result", "report", "run"}  # every other module here registers benchmarks


def register_bench(name: str, description: str) -> Callable[[BenchFn], BenchFn]:
    """Decorator: add a benchmark function under ``name``."""

    def deco(fn: BenchFn) -> BenchFn:
        if name in _BENCHES and _BENCHES[name].fn is not fn:
            raise ValueError(f"benchmark {name!r} is registered twice")
        _BENCHES[name] = Benchmark(name, description, fn)
        return fn

    return deco


def benchmarks() -> list[Benchmark]:
    """Every registered benchmark, in registration order."""
    import arstudio.bench as pkg

    names = [m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name not in _NOT_BENCHES]
    for name in sorted(names, key=lambda n: (n == "gui", n)):  # the slow studio benchmark last
        importlib.import_module(f"arstudio.bench.{name}")
    return list(_BENCHES.values())


def get_bench(name: str) -> Benchmark:
    """The benchmark called ``name``; ValueError with the known names otherwise."""
    known = {b.name: b for b in benchmarks()}
    if name not in known:
        raise ValueError(f"unknown benchmark {name!r} (known: {', '.join(known)})")
    return known[name]
