"""The Music Transformer cache benchmark, run tiny: both attention kinds and the same-events check (not speed)."""

from __future__ import annotations

import pytest
import torch

from arstudio.bench import music
from arstudio.bench.registry import BenchOptions, get_bench


def test_the_bench_reports_cached_vs_recompute_with_identical_events() -> None:
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        results = music.music_cache(BenchOptions(quick=True))
    finally:
        torch.set_num_threads(threads)
    assert [(r.settings["attention"], r.settings["events"]) for r in results] == [
        ("relative", 16), ("relative", 64), ("absolute", 16), ("absolute", 64)]
    for r in results:
        assert r.name == "music-cache" and r.settings["same_events"] and r.ours.value > 0 and r.baseline.value > 0
        assert r.ours.unit == r.baseline.unit == "events/s" and r.to_json()
    assert music.LENGTHS == ((512, None), (1024, 4.0))  # the full run: 512 and 1,024 events, floor 4x at 1,024


def test_the_decoders_agree_and_a_disagreement_is_reported(monkeypatch) -> None:  # noqa: ANN001
    model = music.music_model("relative", music.QUICK)
    fast, at = music.decode_cached(model, 20, marks=(10,))
    slow, _ = music.decode_recompute(model, 20, marks=(10,))
    assert fast == slow and set(at) == {10, 20}
    wrong = [(e + 1) % 388 for e in fast]
    monkeypatch.setattr(music, "decode_recompute", lambda m, n, marks=(): (wrong, {10: 1.0, 20: 2.0}))
    with pytest.raises(RuntimeError, match="wrote different events from event 0 on"):
        music.bench_music(model, ((10, None), (20, None)))


def test_the_bench_is_registered() -> None:
    assert "1,024 events" in get_bench("music-cache").description
