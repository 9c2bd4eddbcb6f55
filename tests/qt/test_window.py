"""The studio's window end to end: play, pause and step, forcing a value, hover, export, errors, closing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from arstudio.core import load_checkpoint, sample
from arstudio.core.policy import SamplingPolicy


def reference(path, batch: int, seed: int, ordering: int = 0, policy: SamplingPolicy | None = None) -> np.ndarray:
    """What ``generate`` gives on the same checkpoint and seed, as flat data [B, D]."""
    model, _ = load_checkpoint(path)
    model.select_ordering(ordering)
    return sample(model, batch=batch, seed=seed, policy=policy).numpy()


def test_opens_with_the_checkpoint(studio, checkpoints):
    w = studio(checkpoints["nade"])
    assert w.session.model.meta.kind == "nade"
    assert w.panel is not None and w.panel.modality == "image"
    assert "CPU" in w.device_label.text() or "CUDA" in w.device_label.text()
    assert w.windowTitle().endswith("nade-tiny")


@pytest.mark.parametrize("kind", ["nade", "fvsbn"])
def test_play_fills_the_canvas_with_what_generate_gives(studio, wait_finished, checkpoints, kind):
    w = studio(checkpoints[kind], batch=4, seed=7)
    w.controls.play_button.click()
    wait_finished(w)
    rec = w.session.record
    assert rec.filled == 64 and rec.finished
    want = reference(checkpoints[kind], 4, 7)
    np.testing.assert_array_equal(rec.data(), want)
    cells = w.panel.cells(rec)  # what the canvas draws, [N, 1, 8, 8] in [0, 1]
    np.testing.assert_array_equal(cells.reshape(4, 64), want)
    # the canvas pixels: white where 1, black where 0, in each cell of the grid
    canvas = w.panel.canvas
    for b in range(4):
        gr, gc = divmod(b, canvas.cols)
        top, left = 1 + gr * 9, 1 + gc * 9
        np.testing.assert_array_equal(canvas.rgb[top:top + 8, left:left + 8, 0] > 128, want[b].reshape(8, 8) == 1)
    assert w.controls.play_button.text() == "Play"
    assert "steps/s" in w.speed_label.text()


def test_made_canvas_follows_the_ordering(studio, wait_finished, checkpoints, qtbot):
    w = studio(checkpoints["made"], batch=3, seed=1)
    assert w.controls.ordering.count() == 3 and w.controls.ordering.isEnabled()
    w.controls.ordering.setCurrentIndex(2)
    for _ in range(5):
        w.controls.step_button.click()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled == 5)
    rec = w.session.record
    model, _ = load_checkpoint(checkpoints["made"])
    model.select_ordering(2)
    order = model.layout.order_array()
    assert not np.array_equal(order, np.arange(64))
    np.testing.assert_array_equal(rec.order, order)
    w._redraw.flush()
    filled = ~np.isnan(w.panel.cells(rec).reshape(3, 64)[0])
    assert set(np.flatnonzero(filled)) == set(order[:5].tolist())
    w.controls.play_button.click()
    wait_finished(w)
    np.testing.assert_array_equal(w.session.record.data(), reference(checkpoints["made"], 3, 1, ordering=2))


def test_pause_and_step_once(studio, qtbot, checkpoints):
    w = studio(checkpoints["nade"], rate=20)
    w.controls.step_button.click()  # starts a paused run and samples one step
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled == 1)
    assert w.session.state == "paused"
    w.controls.step_button.click()
    w.controls.step_button.click()
    qtbot.waitUntil(lambda: w.session.record.filled == 3)
    qtbot.wait(150)
    assert w.session.record.filled == 3  # paused: nothing more
    w.controls.play_button.click()
    assert w.session.state == "running"
    qtbot.waitUntil(lambda: w.session.record.filled >= 5)
    w.controls.play_button.click()  # Pause
    assert w.session.state == "paused"
    qtbot.wait(100)
    n = w.session.record.filled
    qtbot.wait(250)
    assert w.session.record.filled == n
    assert n < 64


def test_temperature_zero_is_greedy(studio, wait_finished, checkpoints):
    w = studio(checkpoints["nade"], batch=2, seed=5)
    w.controls.temperature.setValue(0.0)
    w.controls.play_button.click()
    wait_finished(w)
    want = reference(checkpoints["nade"], 2, 5, policy=SamplingPolicy(temperature=0.0))
    np.testing.assert_array_equal(w.session.record.data(), want)


def test_clicking_a_value_forces_it_and_sampling_goes_on(studio, wait_finished, checkpoints, qtbot):
    w = studio(checkpoints["nade"], batch=3, seed=2)
    w.controls.play_button.click()
    wait_finished(w)
    before = w.session.record
    step, sample = 20, 1
    w.inspector.pick(step, sample)  # as a click on that pixel does
    assert w.inspector.shown() == (step, sample)
    old = int(before.values[step, sample])
    w.dist.click_value(1 - old)  # a click on the other bar
    qtbot.waitUntil(lambda: w.session.record is not before)
    wait_finished(w)
    after = w.session.record
    assert int(after.values[step, sample]) == 1 - old
    assert after.forced[step] and after.forced[:step].all() and not after.forced[step + 1:].any()
    np.testing.assert_array_equal(after.values[:step], before.values[:step])  # the kept prefix
    others = [b for b in range(3) if b != sample]
    np.testing.assert_array_equal(after.values[step, others], before.values[step, others])
    assert after.filled == 64
    # the branch is what generate gives with that prefix and forced value
    model, _ = load_checkpoint(checkpoints["nade"])
    cur = model.start(3)
    from arstudio.core.generate import generate

    for _ in generate(model, batch=3, seed=w.session.settings.seed, cursor=cur,
                      prefix=torch.as_tensor(before.values[:step].T, dtype=torch.long),
                      forced={step: torch.as_tensor(after.values[step], dtype=torch.long)}):
        pass
    np.testing.assert_array_equal(after.data(), cur.x.numpy())


def test_hover_shows_the_stored_distribution(studio, wait_finished, checkpoints):
    w = studio(checkpoints["nade"], batch=4, seed=9)
    w.controls.play_button.click()
    wait_finished(w)
    rec = w.session.record
    sample, row, col = 2, 3, 5
    w.panel.canvas.pixel_hovered.emit(sample, row, col)
    step = rec.step_at(row * 8 + col)
    assert w.inspector.shown() == (step, sample)
    np.testing.assert_allclose(w.dist.view.probs[0], rec.views[step].probs[sample])
    assert w.dist.chosen == rec.values[step, sample]
    assert f"step {step}" in w.dist.caption.text() and "H = " in w.dist.caption.text()
    w.panel.canvas.pixel_hovered.emit(-1, -1, -1)
    assert w.inspector.shown() == (63, w.inspector.sample)


def test_canvas_locates_pixels(studio, checkpoints):
    w = studio(checkpoints["nade"], batch=5)
    c = w.panel.canvas
    assert (c.rows, c.cols) == (2, 3)
    assert c.locate(1.5, 1.5) == (0, 0, 0)
    assert c.locate(1 + 9 + 2.5, 1 + 9 + 7.5) == (4, 7, 2)  # second row, second column
    assert c.locate(9.5, 1.5) == (-1, -1, -1)  # the gap between cells
    assert c.locate(1 + 2 * 9 + 1, 1 + 9 + 1) == (-1, -1, -1)  # the empty sixth cell


def test_export_png_writes_a_file_pillow_opens(studio, wait_finished, checkpoints, tmp_path):
    w = studio(checkpoints["nade"], batch=4)
    w.controls.play_button.click()
    wait_finished(w)
    out = w.export_to(tmp_path / "grid.png")
    assert out is not None and out.exists()
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (1 + 2 * (8 * 8 + 1), 1 + 2 * (8 * 8 + 1))
        assert im.text.get("arstudio:checkpoint") == "nade-tiny"  # the replay recipe (core/replay.py)


def test_export_to_an_unwritable_path_shows_an_error(studio, wait_finished, checkpoints, tmp_path):
    w = studio(checkpoints["nade"], batch=2)
    w.controls.play_button.click()
    wait_finished(w)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert w.export_to(blocker / "grid.png") is None
    assert w.error_box is not None and w.error_box.isVisible()
    assert w.last_error and "\n" not in w.last_error
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("content", [b"\x80\x04garbage pickle", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json",
                                     b"", b"PK\x03\x04zip"])
def test_a_corrupt_checkpoint_shows_an_error(studio, checkpoints, tmp_path, qtbot, content):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(content)
    w = studio(bad)
    qtbot.waitUntil(lambda: w.error_box is not None and w.error_box.isVisible())
    assert str(bad) in w.last_error
    assert w.session.model is None
    w.open_checkpoint(checkpoints["nade"])  # the studio goes on working
    qtbot.waitUntil(lambda: w.session.model is not None)


def test_a_truncated_checkpoint_after_a_good_one_keeps_the_studio_alive(studio, checkpoints, tmp_path, qtbot,
                                                                        wait_finished):
    w = studio(checkpoints["fvsbn"], batch=2)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(checkpoints["nade"].read_bytes()[:300])
    w.open_checkpoint(cut)
    qtbot.waitUntil(lambda: bool(w.last_error))
    assert "truncated" in w.last_error or "corrupt" in w.last_error
    w.controls.play_button.click()
    wait_finished(w)
    assert w.session.record.filled == 64


def test_closing_mid_run_joins_the_worker_thread(studio, qtbot, checkpoints):
    w = studio(checkpoints["nade"], rate=5)
    w.controls.play_button.click()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled >= 1)
    assert w.session.state == "running" and w.session.sampler.alive()
    w.close()
    assert not w.session.sampler.alive()


def test_closing_while_paused_joins_the_worker_thread(studio, qtbot, checkpoints):
    w = studio(checkpoints["made"])
    w.controls.step_button.click()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled == 1)
    assert w.session.sampler.alive()
    w.close()
    assert not w.session.sampler.alive()


def test_reset_clears_and_play_after_finish_draws_new_samples(studio, wait_finished, checkpoints, qtbot):
    w = studio(checkpoints["nade"], batch=2, seed=4)
    w.controls.play_button.click()
    wait_finished(w)
    first = w.session.record.data()
    w.controls.play_button.click()  # a finished run: play again with the next seed
    qtbot.waitUntil(lambda: w.session.settings.seed == 5)
    wait_finished(w)
    assert w.controls.seed.value() == 5
    np.testing.assert_array_equal(w.session.record.data(), reference(checkpoints["nade"], 2, 5))
    assert not np.array_equal(first, w.session.record.data())
    w.controls.reset_button.click()
    assert w.session.state == "idle" and w.session.record is None
    w._redraw.flush()  # the canvas is redrawn with the next frame
    assert (w.panel.canvas.rgb[1:9, 1:9] == w.panel.canvas.rgb[1, 1]).all()  # an empty cell


def test_moving_the_mouse_over_a_pixel_shows_its_distribution(studio, wait_finished, checkpoints, qtbot):
    from PySide6.QtCore import QPointF

    w = studio(checkpoints["nade"], batch=4, seed=9)
    w.show()
    qtbot.waitExposed(w)
    w.controls.play_button.click()
    wait_finished(w)
    canvas = w.panel.canvas
    sample, row, col = 3, 2, 6
    gr, gc = divmod(sample, canvas.cols)
    x, y = 1 + gc * 9 + col + 0.5, 1 + gr * 9 + row + 0.5
    pos = canvas.mapFromScene(canvas.vb.mapViewToScene(QPointF(x, y)))
    qtbot.mouseMove(canvas.viewport(), pos)
    step = w.session.record.step_at(row * 8 + col)
    qtbot.waitUntil(lambda: w.inspector.shown() == (step, sample), timeout=2000)
    np.testing.assert_allclose(w.dist.view.probs[0], w.session.record.views[step].probs[sample])
