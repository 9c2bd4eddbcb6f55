"""`arstudio list`: the shipped and user checkpoints, unreadable files, and plug-ins that failed to load."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _fmt(v: Any, spec: str) -> str:
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def _figures(meta: Any) -> tuple[str, str]:
    from arstudio.core.modality import nll_figures

    nats, bits = nll_figures(meta.metrics, meta.modality)
    return nats or "-", bits or "-"


def cmd_list(args: argparse.Namespace) -> int:
    """Print the shipped and user checkpoints, and the files that could not be read."""
    from arstudio.core import catalog

    entries = catalog.list_checkpoints()
    if args.json:
        for e in entries:
            row: dict[str, Any] = {"name": e.name, "source": e.source, "path": str(e.path)}
            if e.meta is None:
                row["error"] = e.error
            else:
                row.update(kind=e.meta.kind, modality=e.meta.modality, data=e.meta.data.get("name"),
                           metrics=e.meta.metrics, recipe=e.meta.recipe)
            print(json.dumps(row, sort_keys=True))
        return 0
    if not entries:
        print(f"no checkpoints (shipped: {catalog.SHIPPED_DIR}; yours: {catalog.user_models_dir()})")
        return 0
    head = ("name", "source", "kind", "modality", "data", "test NLL", "test bits")
    rows = [(e.name, e.source, e.meta.kind, e.meta.modality, str(e.meta.data.get("name", "-")), *_figures(e.meta))
            for e in entries if e.meta is not None]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows] if rows else []:
        print("  ".join(c.rjust(w) if i >= 5 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    bad = [e for e in entries if e.meta is None]
    if bad:
        print(f"\n{len(bad)} unreadable file(s):")
        for e in bad:
            reason = " ".join(str(e.error).removeprefix(str(e.path) + ": ").split())  # one line per file
            print(f"  {e.path}: {reason}")
    _print_broken_plugins()
    print(f"\nshipped: {catalog.SHIPPED_DIR}\nyours:   {catalog.user_models_dir()}")
    return 0


def _print_broken_plugins() -> None:
    """Name every plug-in that failed to load (the rest work), after the kinds and modalities were scanned."""
    from arstudio.core import plugins
    from arstudio.core.modality import modalities
    from arstudio.core.registry import kinds
    from arstudio.data.datasets import datasets

    kinds(), modalities(), datasets()
    bad = plugins.broken()
    if bad:
        print(f"\n{len(bad)} plug-in(s) could not be loaded:")
        for b in bad:
            print(f"  {b}")
