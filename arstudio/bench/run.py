"""Running benchmarks for ``arstudio bench``: choose, run, report (table, JSON lines, markdown)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from arstudio.bench.registry import Benchmark, BenchOptions, BenchSkipped, benchmarks, get_bench
from arstudio.bench.report import below_floor, markdown, read_json_lines, replace_block, table
from arstudio.bench.result import BenchResult
from arstudio.core import files
from arstudio.core.device import env_threads
from arstudio.io.atomic import atomic_write


def default_threads() -> int:
    """Torch threads for benchmarks: ``ARSTUDIO_THREADS``, else 1, as the studio samples."""
    return env_threads(1) or 1


def run(names: Sequence[str] = (), opts: BenchOptions | None = None, json_out: bool = False
        ) -> tuple[list[BenchResult], list[str]]:
    """Run the named benchmarks (all when empty); return the results and one line per skipped one.

    With ``json_out`` each result is also printed as a JSON line as soon as it is measured.
    """
    opts = opts or BenchOptions()
    chosen = [get_bench(n) for n in names] if names else benchmarks()
    threads = torch.get_num_threads()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    try:
        return _run_all(chosen, opts, json_out)
    finally:
        torch.set_num_threads(threads)


def _run_all(chosen: list[Benchmark], opts: BenchOptions, json_out: bool) -> tuple[list[BenchResult], list[str]]:
    results, skipped = [], []
    for b in chosen:
        print(f"bench {b.name} ...", file=sys.stderr, flush=True)
        try:
            got = b.fn(opts)
        except BenchSkipped as e:
            skipped.append(f"{b.name}: skipped: {e}")
            print(skipped[-1], file=sys.stderr)
            continue
        results.extend(got)
        if json_out:
            for r in got:
                print(r.to_json(), flush=True)
    return results, skipped


def run_cli(args: argparse.Namespace) -> int:
    """``arstudio bench``: exit status 1 when a ratio is below its floor or samples differ."""
    if args.list:
        for b in benchmarks():
            print(f"{b.name:14s} {b.description}")
        return 0
    threads = args.threads if args.threads is not None else default_threads()
    if threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")
    if args.from_file:
        if args.names or args.json:
            raise ValueError("--from reads results; it takes no benchmark names and no --json")
        text = (sys.stdin.read(files.LIMITS["json"]) if args.from_file == "-"
                else files.read_text(args.from_file, "json"))  # a regular file of bounded size
        try:
            results = read_json_lines(text)
        except ValueError as e:
            raise ValueError(f"{'stdin' if args.from_file == '-' else args.from_file}: {e}") from None
    else:
        results, _ = run(args.names, BenchOptions(quick=args.quick, threads=threads),
                         json_out=args.json and not (args.markdown or args.update))
    if args.update:
        doc = files.read_text(args.update, "text file")
        new = replace_block(doc, markdown(results)).encode("utf-8")
        atomic_write(args.update, lambda f: f.write(new))
        print(f"updated the benchmark table in {args.update} ({len(results)} rows)")
    elif args.markdown:
        print(markdown(results))
    elif not args.json:
        print(table(results) if results else "no results")
    bad = [r for r in results if below_floor(r) or r.settings.get("identical") is False]
    for r in bad:
        why = "samples differ from the baseline" if r.settings.get("identical") is False else \
            f"ratio {r.ratio:.2f} is below the floor {r.floor:g}"
        print(f"arstudio bench: {r.name} ({r.compares}): {why}", file=sys.stderr)
    return 1 if bad else 0
