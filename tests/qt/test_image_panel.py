"""The image panel (issue 11): the dependency overlay follows what the distribution view shows, a new model or
run leaves nothing of the old one, the Likelihood tab names a sample as a user counts, the order is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arstudio.modalities.image.places import order_name
from tests.qt.conftest import make_checkpoint

WAIT = 60000  # ms: a generous bound for a tiny run on a busy machine
PCNN = {"shape": [1, 8, 8], "values": "categorical", "levels": 17, "channels": 8, "layers": 2, "kernel": 3,
        "first_kernel": 5, "head": 8}
PCNN_PP = {"shape": [3, 3, 4], "values": "categorical", "levels": 256, "channels": 6, "layers": 2, "kernel": 3,
           "first_kernel": 3, "mixtures": 3}


@pytest.fixture(scope="module")
def image_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny PixelCNN (17 grey levels) and a tiny RGB PixelCNN++ (256 levels, channels at each pixel)."""
    d = tmp_path_factory.mktemp("image-panel")
    return {"pixelcnn": make_checkpoint(d, "pixelcnn", PCNN), "pixelcnn_pp": make_checkpoint(d, "pixelcnn_pp", PCNN_PP)}


def shows(p, sample: int, index: int) -> bool:
    """True when the overlay's map is the one of pixel ``index`` of ``sample``."""
    d = p.dependency
    return d is not None and (d.sample, d.index) == (sample, index) and p.overlay.shown


def run(studio, wait_finished, path: Path, batch: int = 2, seed: int = 1):
    w = studio(path, batch=batch, seed=seed)
    w.controls.play_button.click()
    wait_finished(w, WAIT)
    return w


def test_the_overlay_follows_the_hovered_pixel_then_the_pinned_one(studio, wait_finished, image_models, qtbot):
    w = run(studio, wait_finished, image_models["pixelcnn"])
    p = w.panel
    p.dependency_box.setChecked(True)
    p.canvas.pixel_clicked.emit(0, 7, 7)  # pin (7, 7) of sample 0
    qtbot.waitUntil(lambda: shows(p, 0, 63), timeout=WAIT)
    p.canvas.pixel_hovered.emit(1, 4, 3)  # the distribution view now shows (4, 3) of sample 1: so does the overlay
    assert w.inspector.shown() == (4 * 8 + 3, 1)
    qtbot.waitUntil(lambda: shows(p, 1, 4 * 8 + 3), timeout=WAIT)
    assert p.overlay.shown and p.overlay.sample == 1 and "(4, 3)" in p.dependency_note.text()
    p.canvas.pixel_hovered.emit(-1, -1, -1)  # the mouse leaves: back to the pinned place
    assert w.inspector.shown() == (63, 0)
    qtbot.waitUntil(lambda: shows(p, 0, 63), timeout=WAIT)
    assert p.overlay.sample == 0


def test_a_new_run_clears_the_overlay_and_drops_the_old_runs_maps(studio, wait_finished, image_models, qtbot):
    w = run(studio, wait_finished, image_models["pixelcnn"])
    p = w.panel
    p.dependency_box.setChecked(True)
    p.canvas.pixel_clicked.emit(1, 2, 3)  # pin (2, 3) of sample 1
    qtbot.waitUntil(lambda: shows(p, 1, 19), timeout=WAIT)
    old = p.dependency
    at_begin: list[tuple[bool, str]] = []
    begin = p.begin_run

    def spy(record):
        begin(record)
        at_begin.append((p.overlay.shown, p.dependency_note.text()))

    p.begin_run = spy
    p.likelihood.set_values(np.zeros(64), "a blank image", score=False)
    p.likelihood_view.keep_rows.setValue(2)
    p.likelihood_view.complete_button.click()  # "complete from here": a new run
    wait_finished(w, WAIT)
    assert at_begin and not at_begin[0][0] and "(2, 3)" not in at_begin[0][1]
    # the new run's overlay follows its newest step (the last pixel) of the followed sample, not the old pin
    qtbot.waitUntil(lambda: shows(p, 1, 63), timeout=WAIT)
    assert p.dependency.index != old.index
    shown = p.overlay.rgba.copy()
    p.analysis.dependency_computed.emit(old)  # a late answer about the old run is not drawn
    assert p.dependency.index == 63 and np.array_equal(p.overlay.rgba, shown)


def test_switching_image_models_resets_the_panel(studio, wait_finished, image_models, checkpoints, qtbot):
    w = run(studio, wait_finished, image_models["pixelcnn"], batch=3)
    p = w.panel
    p.dependency_box.setChecked(True)
    p.canvas.pixel_clicked.emit(0, 3, 3)
    qtbot.waitUntil(lambda: p.dependency is not None and p.overlay.shown, timeout=WAIT)
    w.dist.value_clicked.emit(5)  # force 5 at (3, 3) of sample 0: a second branch
    wait_finished(w, WAIT)
    assert len(p.history.branches) == 2 and p.legend.isVisibleTo(p)
    p.likelihood.set_values(np.arange(64) % 17, "a test image")
    qtbot.waitUntil(lambda: p.likelihood.result is not None, timeout=WAIT)
    p.likelihood.view.editor.pixel_hovered.emit(1, 1)
    assert "pixel (row 1" in p.likelihood_view.image_caption.text()

    w.open_checkpoint(checkpoints["nade"])
    qtbot.waitUntil(lambda: p.info is not None and p.info.path == w.session.model.path
                    and "nade" in str(p.info.path), timeout=WAIT)
    assert w.panel is p  # the same panel, reused
    assert not p.overlay.shown and p.dependency_note.text() in ("", "hover or click a sampled pixel")
    assert p.dependency is None and p.record is None
    assert not p.history.branches and p.branch_combo.count() == 0 and not p.back_button.isEnabled()
    assert not p.legend.isVisibleTo(p)
    assert p.likelihood.result is None and p.likelihood_view.heatmap.values is None
    assert "pixel (row" not in p.likelihood_view.image_caption.text()
    assert p.canvas.marked_places() == []
    assert (p.canvas.rgb[1:, 1:] != 0).any()
    w.controls.play_button.click()
    wait_finished(w, WAIT)
    assert len(p.history.branches) == 1 and not p.legend.isVisibleTo(p)
    assert p.canvas.marked_places() == []


def test_reopening_the_same_checkpoint_resets_too(studio, wait_finished, image_models, qtbot):
    w = run(studio, wait_finished, image_models["pixelcnn"])
    p = w.panel
    first = p.info
    w.open_checkpoint(image_models["pixelcnn"])
    qtbot.waitUntil(lambda: p.info is not first and p.info is not None, timeout=WAIT)
    assert not p.history.branches and p.record is None


def test_use_sample_names_the_sample_as_a_user_counts(studio, wait_finished, image_models, qtbot):
    w = run(studio, wait_finished, image_models["pixelcnn"], batch=3, seed=7)
    p = w.panel
    p.canvas.pixel_clicked.emit(2, 1, 1)  # follow sample 2 (the third)
    p.likelihood_view.sample_button.click()
    assert p.likelihood.source == "sample 3 of 3 · seed 7"
    assert "run" not in p.likelihood_view.notes.text()
    p.canvas.enlarge(0)  # an enlarged sample is the one copied
    p.likelihood_view.sample_button.click()
    assert p.likelihood.source == "sample 1 of 3 · seed 7"


def test_pixelcnn_pp_runs_in_raster_order(studio, wait_finished, image_models, qtbot):
    w = studio(image_models["pixelcnn_pp"], batch=1)
    w.session.step_once()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled > 0, timeout=WAIT)
    w._redraw.flush()
    text = w.panel.hint.text()
    assert "raster order" in text and "ordering" not in text
    assert "ordering" not in w.panel.describe_step(w.session.record, 0)


def test_orders_are_named_as_the_controls_name_them():
    assert order_name(np.arange(64), (1, 8, 8), 0) == "raster order"
    pixel_major = (np.arange(3)[None, :] * 12 + np.arange(12)[:, None]).reshape(-1)
    assert order_name(pixel_major, (3, 3, 4), 0) == "raster order, R, G, B at each pixel"
    assert order_name(np.random.default_rng(0).permutation(64), (1, 8, 8), 2) == "ordering 2"
