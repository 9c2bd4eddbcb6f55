"""The studio's own benchmark, run in a child process so that this one never imports Qt.

``python -m arstudio.qt.bench_gui --json`` (written with the studio) prints one ``BenchResult``
JSON object per line: sampling throughput with the window live vs headless, and the GUI thread's
p99 stall under full-speed sampling. This module runs it offscreen and collects those lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import arstudio
from arstudio.bench.registry import BenchOptions, BenchSkipped, register_bench
from arstudio.bench.result import BenchResult

MODULE = "arstudio.qt.bench_gui"
TIMEOUT_S = 540


def parse_results(text: str) -> list[BenchResult]:
    """The ``BenchResult`` JSON lines in ``text``; other lines (logs, Qt chatter) are ignored."""
    out = []
    fields = set(BenchResult.__dataclass_fields__)
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(d, dict) or not {"name", "ours", "baseline"} <= d.keys():
            continue
        try:
            out.append(BenchResult.from_dict({k: v for k, v in d.items() if k in fields}))
        except (TypeError, KeyError, ValueError) as e:
            raise ValueError(f"a benchmark printed a malformed result line ({e}): {line[:120]}") from None
    return out


def _module_file() -> Path:
    return Path(arstudio.__file__).resolve().parent / "qt" / "bench_gui.py"


@register_bench("gui", "sampling throughput with the studio's window live vs headless; GUI-thread stall p99")
def gui(opts: BenchOptions) -> list[BenchResult]:
    """Run the studio's benchmark offscreen in a child process and collect its results."""
    if not _module_file().exists():
        raise BenchSkipped(f"{MODULE} is not there yet (the studio's benchmark module)")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    if opts.quick:
        env["ARSTUDIO_BENCH_QUICK"] = "1"
    if opts.threads:
        env["ARSTUDIO_THREADS"] = env["ARSTUDIO_BENCH_THREADS"] = str(opts.threads)
    try:
        proc = subprocess.run([sys.executable, "-m", MODULE, "--json"], capture_output=True, text=True,
                              env=env, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ValueError(f"{MODULE} did not finish within {TIMEOUT_S} s") from None
    if proc.returncode != 0:
        last = next((ln for ln in reversed(proc.stderr.splitlines()) if ln.strip()), "no message")
        raise ValueError(f"{MODULE} failed with exit status {proc.returncode}: {last.strip()}")
    results = parse_results(proc.stdout)
    if not results:
        raise ValueError(f"{MODULE} printed no results")
    return results
