"""The WaveNet benchmark, run tiny: both results, their floors, and the same-samples checks (not speed)."""

from __future__ import annotations

import torch

from arstudio.bench.registry import get_bench
from arstudio.bench.wavenet import FLOOR_RATE, FLOOR_RATIO, bench_wavenet, wavenet_model

TINY = {"stacks": 2, "layers": 4, "residual_channels": 8, "dilation_channels": 8, "skip_channels": 8, "n_mels": 8,
        "hop_length": 16, "cond_channels": 8}


def test_the_bench_reports_fast_vs_naive_and_real_time_with_identical_samples() -> None:
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        results = bench_wavenet(wavenet_model(200, TINY), steps=120, naive_budget_s=0.2)
    finally:
        torch.set_num_threads(threads)
    fast, realtime = results
    assert (fast.name, realtime.name) == ("wavenet-fast", "wavenet-realtime")
    assert fast.floor == FLOOR_RATIO and realtime.floor == FLOOR_RATE / 16000
    assert fast.settings["identical"] and fast.settings["whole_run_replay_identical"], fast.notes
    assert fast.settings["naive_steps_timed"] >= 1 and fast.settings["fast_steps_timed"] == 120
    assert realtime.baseline.value == 16000 and realtime.ours.value == fast.ours.value > 0
    assert "of real time" in realtime.notes and fast.to_json()


def test_the_bench_is_registered() -> None:
    assert "real time" in get_bench("wavenet-fast").description
