"""`arstudio bench`: the structure of its results (not their timings), the table and the markdown."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from arstudio.bench import BenchOptions, BenchResult, Figure, benchmarks
from arstudio.bench import gui as gui_bench
from arstudio.bench.report import markdown, read_json_lines, table

Run = Callable[..., tuple[int, str, str]]
ErrLine = Callable[[int, str], str]


def test_registry_names() -> None:
    names = [b.name for b in benchmarks()]
    assert {"nade-cursor", "fvsbn-cursor", "made-cursor", "gui"} <= set(names)


def test_quick_cursor_bench_json(cli: Run, tmp_path: Path) -> None:
    rc, out, err = cli("bench", "nade-cursor", "fvsbn-cursor", "made-cursor", "--quick", "--json", "--threads", "1")
    assert rc == 0, err
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert {r["name"] for r in rows} == {"nade-cursor", "fvsbn-cursor", "made-cursor"}
    assert {r["settings"]["batch"] for r in rows} == {1, 16}
    for r in rows:
        assert set(r) >= {"name", "compares", "ours", "baseline", "ratio", "settings", "floor"}
        for fig in (r["ours"], r["baseline"]):
            assert set(fig) == {"label", "value", "unit"} and fig["unit"] == "steps/s" and fig["value"] > 0
        assert r["ratio"] == pytest.approx(r["ours"]["value"] / r["baseline"]["value"])
        s = r["settings"]
        assert s["threads"] == 1 and s["device"] == "cpu" and s["length"] == 64 and s["identical"] is True

    saved = tmp_path / "bench.jsonl"
    saved.write_text(out)
    rc, md, _ = cli("bench", "--from", saved, "--markdown")
    assert rc == 0
    lines = md.splitlines()
    assert lines[0].startswith("| benchmark |") and len(lines) == 2 + len(rows)
    assert "`nade-cursor`" in md and "batch 16" in md and "1 threads" in md
    rc, text, _ = cli("bench", "--from", saved)
    assert rc == 0 and "NaiveCursor" in text and "ratio" in text.splitlines()[0]


def test_floor_miss_is_reported(cli: Run, tmp_path: Path) -> None:
    slow = BenchResult("gui", "window live vs headless", Figure("live", 80.0, "steps/s"),
                       Figure("headless", 100.0, "steps/s"), {"batch": 1}, floor=0.9)
    saved = tmp_path / "r.jsonl"
    saved.write_text(slow.to_json() + "\n")
    rc, out, err = cli("bench", "--from", saved)
    assert rc == 1 and "FAIL" in out and "below the floor 0.9" in err
    assert read_json_lines(saved.read_text())[0].ratio == pytest.approx(0.8)
    assert "0.80x" in table([slow]) and ">= 0.9 FAIL" in markdown([slow])


def test_lower_is_better_ratio() -> None:
    stall = BenchResult("gui", "GUI stall p99 vs 50 ms budget", Figure("p99 stall", 10.0, "ms"),
                        Figure("budget", 50.0, "ms"), higher_is_better=False, floor=1.0)
    assert stall.ratio == pytest.approx(5.0)


def test_bad_json_lines(cli: Run, one_error_line: ErrLine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"name": "x"}\n')
    rc, _, err = cli("bench", "--from", bad)
    assert "line 1" in one_error_line(rc, err)


def test_gui_bench_skips_when_the_module_is_missing(cli: Run, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setattr(gui_bench, "_module_file", lambda: tmp_path / "nope.py")
    rc, out, err = cli("bench", "gui", "--json")
    assert rc == 0 and out == ""
    assert "gui: skipped" in err and "arstudio.qt.bench_gui" in err


def test_gui_bench_collects_child_lines() -> None:
    r = BenchResult("gui", "throughput, window live vs headless", Figure("live", 950.0, "steps/s"),
                    Figure("headless", 1000.0, "steps/s"), {"batch": 16, "threads": 2}, floor=0.9)
    noise = "This plugin does not support propagateSizeHints()\n"
    got = gui_bench.parse_results(noise + r.to_json() + "\nnot json\n")
    assert len(got) == 1 and got[0].to_dict() == r.to_dict()


def test_bench_function_direct() -> None:
    nade = next(b for b in benchmarks() if b.name == "nade-cursor")
    results = nade.fn(BenchOptions(quick=True))
    assert all(isinstance(r, BenchResult) and r.settings["identical"] for r in results)


def test_update_readme_block(cli: Run, one_error_line: ErrLine, tmp_path: Path) -> None:
    r = BenchResult("nade-cursor", "NADE vs NaiveCursor", Figure("ours", 100.0, "steps/s"),
                    Figure("naive", 10.0, "steps/s"), {"batch": 1, "length": 64, "threads": 1, "device": "cpu"})
    saved = tmp_path / "r.jsonl"
    saved.write_text(r.to_json() + "\n")
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- bench:begin -->\nold table\n<!-- bench:end -->\nafter\n")
    rc, out, err = cli("bench", "--from", saved, "--update", readme)
    assert rc == 0, err
    text = readme.read_text()
    assert "old table" not in text and "| `nade-cursor` |" in text and "**10.0x**" in text
    assert text.startswith("# x\n<!-- bench:begin -->\n| benchmark") and text.endswith("<!-- bench:end -->\nafter\n")
    readme.write_text("no markers\n")
    rc, _, err = cli("bench", "--from", saved, "--update", readme)
    assert "markers" in one_error_line(rc, err) and readme.read_text() == "no markers\n"
