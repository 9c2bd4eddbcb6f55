"""The studio's exports are replayable: `arstudio replay` remakes them byte for byte; File > Replay steps through one."""

from __future__ import annotations

import numpy as np

from arstudio.cli import main


def _replay_bytes(src, ckpt, tmp_path) -> bytes:
    copy = tmp_path / "copy.png"
    assert main(["replay", str(src), "--out", str(copy), "--checkpoint", str(ckpt)]) == 0
    return copy.read_bytes()


def test_studio_export_replays_byte_for_byte(studio, wait_finished, checkpoints, tmp_path) -> None:
    w = studio(checkpoints["made"], batch=3, seed=5)
    w.controls.ordering.setCurrentIndex(1)
    w.controls.temperature.setValue(0.8)
    w.controls.play_button.click()
    wait_finished(w)
    out = w.export_to(tmp_path / "full.png")
    assert out is not None
    assert _replay_bytes(out, checkpoints["made"], tmp_path) == out.read_bytes()


def test_a_branch_and_a_paused_run_replay_too(studio, wait_finished, checkpoints, qtbot, tmp_path) -> None:
    w = studio(checkpoints["nade"], batch=2, seed=2, rate=None)
    w.controls.play_button.click()
    wait_finished(w)
    old = w.session.record.values[10, 1]
    w.session.branch(10, 1, 1.0 - old)  # force the other value at step 10 of sample 1
    wait_finished(w)
    assert w.session.record.info.request.prefix_len == 10
    out = w.export_to(tmp_path / "branch.png")
    assert _replay_bytes(out, checkpoints["nade"], tmp_path) == out.read_bytes()
    w.session.reset()
    w.controls.set_rate(20)
    for _ in range(7):
        w.controls.step_button.click()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled == 7)
    part = w.export_to(tmp_path / "partial.png")
    assert _replay_bytes(part, checkpoints["nade"], tmp_path) == part.read_bytes()


def test_replay_export_opens_a_paused_run(studio, wait_finished, checkpoints, qtbot, tmp_path, monkeypatch) -> None:
    w = studio(checkpoints["nade"], batch=3, seed=8, rate=None)
    w.controls.play_button.click()
    wait_finished(w)
    w.session.branch(5, 0, 1.0 - w.session.record.values[5, 0])
    wait_finished(w)
    want = w.session.record.data()
    out = w.export_to(tmp_path / "b.png")
    w.controls.seed.setValue(99)
    w.controls.samples.setValue(5)
    w.session.reset()
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(checkpoints["nade"].parent))
    assert w.replayer.open(out)
    qtbot.waitUntil(lambda: w.session.state == "paused" and w.session.record is not None, timeout=10000)
    assert w.session.settings.seed == 8 and w.session.settings.batch == 3
    w.controls.play_button.click()
    wait_finished(w)
    np.testing.assert_array_equal(w.session.record.data(), want)
    assert w.controls.seed.value() == 8


def test_replay_of_a_plain_png_says_why(studio, checkpoints, tmp_path) -> None:
    from PIL import Image

    w = studio(checkpoints["nade"])
    Image.new("L", (4, 4)).save(tmp_path / "plain.png")
    assert not w.replayer.open(tmp_path / "plain.png")
    assert "has no replay metadata" in w.last_error
