"""Benchmark results as a plain-text table, as JSON lines, and as the README's markdown table."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from arstudio.bench.result import BenchResult

HEAD = ("name", "compares", "ours", "baseline", "ratio", "floor")


def fmt_value(v: float, unit: str) -> str:
    """A figure with a sensible number of digits and its unit."""
    if v != v or v in (float("inf"), float("-inf")):
        return f"{v} {unit}"
    digits = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
    return f"{v:,.{digits}f} {unit}".strip()


def fmt_ratio(r: BenchResult) -> str:
    """The ratio as ``12.3x``."""
    return f"{r.ratio:.2f}x" if r.ratio < 10 else f"{r.ratio:.1f}x"


def below_floor(r: BenchResult) -> bool:
    """True when a result misses the floor its issue asks for."""
    return r.floor is not None and not r.ratio >= r.floor


def fmt_floor(r: BenchResult) -> str:
    """The floor and whether it is met."""
    if r.floor is None:
        return "-"
    return f">= {r.floor:g} {'FAIL' if below_floor(r) else 'ok'}"


def fmt_settings(s: dict[str, Any]) -> str:
    """The settings that matter for reading a figure: batch, length, threads, device."""
    parts = []
    if "batch" in s:
        parts.append(f"batch {s['batch']}")
    if "length" in s:
        parts.append(f"{s['length']} steps")
    if "threads" in s:
        parts.append(f"{s['threads']} threads")
    if "device" in s:
        parts.append(str(s["device"]))
    return ", ".join(parts)


def _row(r: BenchResult) -> tuple[str, ...]:
    return (r.name, r.compares, fmt_value(r.ours.value, r.ours.unit), fmt_value(r.baseline.value, r.baseline.unit),
            fmt_ratio(r), fmt_floor(r))


def table(results: Iterable[BenchResult]) -> str:
    """A plain-text table, one row per result."""
    rows = [HEAD, *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEAD))]
    right = {2, 3, 4}
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(results: Iterable[BenchResult]) -> str:
    """The README's table: one row per result, settings spelled out."""
    lines = ["| benchmark | compares | ours | baseline | ratio | floor | settings |",
             "|---|---|--:|--:|--:|---|---|"]
    for r in results:
        ours = f"{fmt_value(r.ours.value, r.ours.unit)} ({r.ours.label})"
        base = f"{fmt_value(r.baseline.value, r.baseline.unit)} ({r.baseline.label})"
        cells = (f"`{r.name}`", r.compares, ours, base, f"**{fmt_ratio(r)}**", fmt_floor(r), fmt_settings(r.settings))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def read_json_lines(text: str) -> list[BenchResult]:
    """Results from ``arstudio bench --json`` output; ValueError names the first bad line."""
    fields = set(BenchResult.__dataclass_fields__)
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(BenchResult.from_dict({k: v for k, v in d.items() if k in fields}))
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError, ValueError, RecursionError) as e:
            raise ValueError(f"line {i} is not a benchmark result ({type(e).__name__}: {e})") from None
    return out


MARK_BEGIN, MARK_END = "<!-- bench:begin -->", "<!-- bench:end -->"


def replace_block(doc: str, block: str) -> str:
    """``doc`` with the text between the bench markers replaced by ``block`` (the markers stay)."""
    i, j = doc.find(MARK_BEGIN), doc.find(MARK_END)
    if i < 0 or j < i:
        raise ValueError(f"no '{MARK_BEGIN}' ... '{MARK_END}' block to replace; add the two markers where the "
                         "table belongs")
    return doc[:i + len(MARK_BEGIN)] + "\n" + block.rstrip("\n") + "\n" + doc[j:]
