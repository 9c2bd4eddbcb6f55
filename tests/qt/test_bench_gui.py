"""The studio's benchmark keeps its contract: BenchResult JSON lines on stdout, one per measurement."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from arstudio.bench.result import BenchResult
from arstudio.qt.modalities import panel_class
from arstudio.qt.modalities.image.panel import PixelPanel


def test_bench_gui_prints_bench_results(checkpoints, tmp_path):
    config = tmp_path / "person-config"  # the settings of whoever runs the bench: left alone
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ARSTUDIO_BENCH_QUICK": "1", "ARSTUDIO_CONFIG_DIR": str(config)}
    proc = subprocess.run([sys.executable, "-m", "arstudio.qt.bench_gui", "--json", "--checkpoint",
                           str(checkpoints["nade"]), "--seconds", "0.6", "--batch", "4"],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    results = [BenchResult.from_dict(json.loads(ln)) for ln in lines]
    assert [r.name for r in results] == ["studio_throughput", "studio_throughput_vs_bare", "studio_throughput_short_runs",
                                         "studio_gui_stall", "studio_train_stall"]
    tp, bare, short, stall, train = results
    assert bare.floor is None and bare.baseline.label == "bare generate()" and bare.settings["length"] == 144
    assert tp.settings["length"] == 144 and short.settings["length"] == 64 and short.floor is None
    # Rates are reported, never asserted: on a busy machine a 0.6 s window may finish no run at all.
    assert train.ours.unit == "ms" and train.baseline.value == 50.0 and train.settings["train_steps_per_s"] >= 0
    assert tp.ours.unit == tp.baseline.unit == "steps/s" and tp.ours.value >= 0 and tp.baseline.value >= 0
    assert tp.floor == 0.9 and tp.settings["batch"] == 4 and tp.settings["threads"] >= 1
    assert stall.ours.unit == "ms" and stall.baseline.value == 50.0 and not stall.higher_is_better
    assert {"batch", "length", "threads", "device"} <= tp.settings.keys()
    assert not config.exists(), "the bench must not write the studio settings of the person running it"


def test_bench_gui_fails_with_one_line_for_a_missing_checkpoint(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "arstudio.qt.bench_gui", "--json", "--checkpoint",
                           str(tmp_path / "none.safetensors")], capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "bench_gui:" in proc.stderr and "Traceback" not in proc.stderr


def test_panels_are_found_by_modality():
    assert panel_class("image") is PixelPanel
    try:
        panel_class("smell")
    except KeyError as e:
        assert "smell" in str(e)
    else:
        raise AssertionError("an unknown modality must raise KeyError")
