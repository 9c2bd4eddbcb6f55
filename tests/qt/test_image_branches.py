"""Image branches (issue 11): a forced value is marked on its sample with a legend, and "Back" returns to the
run it branched from, live, so that another value can be forced there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arstudio.qt.modalities.image.branch_bar import KEPT, KEPT_TINT
from arstudio.qt.modalities.image.grid import cells_rgb
from arstudio.qt.views import theme
from tests.qt.conftest import make_checkpoint
from tests.qt.test_image_panel import PCNN, WAIT, run

PLACE = (3, 3)  # the pixel forced, in sample 1 (the second)


@pytest.fixture(scope="module")
def pixelcnn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("image-branches"), "pixelcnn", PCNN)


def force(w, wait_finished, sample: int, place: tuple[int, int]) -> tuple[int, float]:
    """Pick ``place`` of ``sample`` and click another value in the distribution view, as a user does."""
    p = w.panel
    index = place[0] * 8 + place[1]
    step = int(w.session.record.step_of_index[index])
    old = float(w.session.record.values[step, sample])
    p.canvas.pixel_clicked.emit(sample, *place)
    assert w.inspector.shown() == (step, sample)
    new = (int(old) + 5) % 17
    w.dist.value_clicked.emit(new)
    wait_finished(w, WAIT)
    return step, new


def test_a_forced_value_is_ringed_on_its_sample_and_the_kept_prefix_explained(studio, wait_finished, pixelcnn):
    w = run(studio, wait_finished, pixelcnn, batch=3, seed=1)
    p = w.panel
    first = w.session.record
    step, value = force(w, wait_finished, 1, PLACE)
    rec = w.session.record
    assert rec.values[step, 1] == value and rec.values[step, 0] == first.values[step, 0]
    hist = p.history
    assert len(hist.branches) == 2 and hist.current().parent == 0
    branch = hist.current()
    assert branch.forced_places() == [(step, 1)]  # forced on sample 1 only; the others kept their value
    assert branch.kept[:step].all() and branch.kept[step, [0, 2]].all() and not branch.kept[step + 1:].any()
    assert p.canvas.marked_places() == [(1, *PLACE)]
    legend = p.legend.text()
    assert p.legend.isVisibleTo(p) and f"forced (3, 3) = {value} in sample 2" in legend
    assert "kept" in legend and "generated" in legend and "Red ring" in p.legend.toolTip()
    assert "forced (3, 3)" in p.branch_combo.currentText() and "(from 1)" in p.branch_combo.currentText()
    # kept pixels are tinted blue (not red), generated ones drawn as they are
    plain = cells_rgb(p.cells(rec))
    kept_px, new_px = p.canvas.cells[0, 0, 0].astype(int), p.canvas.cells[0, 7, 7].astype(int)
    assert kept_px[2] > kept_px[0] and not np.array_equal(kept_px, plain[0, 0, 0])
    assert np.array_equal(new_px, plain[0, 7, 7])
    want = np.rint((1 - KEPT_TINT) * plain[0, 0, 0] + KEPT_TINT * np.asarray(theme.rgb(KEPT)))
    np.testing.assert_array_equal(kept_px, want)


def test_back_returns_to_the_run_before_the_force_live(studio, wait_finished, pixelcnn, qtbot):
    w = run(studio, wait_finished, pixelcnn, batch=3, seed=1)
    p = w.panel
    before = w.session.record.data()
    force(w, wait_finished, 1, PLACE)
    forced = w.session.record.data()
    assert p.back_button.isEnabled()
    p.back_button.click()
    # at once: the earlier samples, no marks, no legend
    np.testing.assert_array_equal(p.canvas.cells, cells_rgb(p.cells(p.history.branches[0].record)))
    assert p.history.shown == 0 and p.canvas.marked_places() == [] and not p.legend.isVisibleTo(p)
    wait_finished(w, WAIT)
    rec = w.session.record
    np.testing.assert_array_equal(rec.data(), before)  # live again, exactly as it was
    assert len(p.history.branches) == 2 and p.history.shown == 0 and p.branch_combo.currentIndex() == 0
    assert p.canvas.marked_places() == [] and not p.legend.isVisibleTo(p)
    # the distribution view works on it, and forcing from it makes a new branch of it
    p.canvas.pixel_hovered.emit(2, 5, 5)
    assert w.inspector.shown() == (45, 2)
    np.testing.assert_allclose(w.dist.view.probs[0], rec.views[45].probs[2])
    p.canvas.pixel_hovered.emit(-1, -1, -1)
    force(w, wait_finished, 0, (6, 1))
    assert len(p.history.branches) == 3 and p.history.current().parent == 0
    # and the forced branch is still there to go to
    p.branch_bar.branch_chosen.emit(1)
    wait_finished(w, WAIT)
    np.testing.assert_array_equal(w.session.record.data(), forced)
    assert p.canvas.marked_places() == [(1, *PLACE)] and p.legend.isVisibleTo(p)


def test_complete_from_here_is_a_run_with_its_given_pixels_explained(studio, wait_finished, pixelcnn):
    w = run(studio, wait_finished, pixelcnn, batch=2, seed=4)
    p = w.panel
    p.likelihood.set_values(np.full(64, 16), "a white image", score=False)
    p.likelihood_view.keep_rows.setValue(2)
    p.likelihood_view.complete_button.click()
    wait_finished(w, WAIT)
    b = p.history.current()
    assert len(p.history.branches) == 2 and b.parent is None and "completion of a white image" in b.label
    assert b.kept[:16].all() and not b.kept[16:].any() and not b.forced.any()
    assert "given" in p.legend.text() and p.canvas.marked_places() == []
    p.back_button.click()  # back to the run shown before
    wait_finished(w, WAIT)
    assert p.history.shown == 0 and not p.legend.isVisibleTo(p)


def test_back_brings_back_as_many_samples_as_the_branch_had(studio, wait_finished, pixelcnn, qtbot):
    w = run(studio, wait_finished, pixelcnn, batch=3, seed=1)
    p = w.panel
    before = w.session.record.data()
    w.controls.play_button.click()  # a second run (the next seed)
    wait_finished(w, WAIT)
    w.controls.samples.setValue(5)  # the next runs will have 5 samples
    qtbot.waitUntil(lambda: w.session.settings.batch == 5)
    p.back_button.click()
    wait_finished(w, WAIT)
    rec = w.session.record
    assert rec.batch == 3 and p.history.shown == 0
    np.testing.assert_array_equal(rec.data(), before)
    assert w.session.settings.batch == 5 and w.session.plan.batch is None  # for this once only


def test_forcing_after_the_samples_setting_changed_keeps_the_runs_samples(studio, wait_finished, pixelcnn):
    w = run(studio, wait_finished, pixelcnn, batch=3, seed=1)
    w.controls.samples.setValue(5)  # the next fresh run's count; a branch of this run keeps its 3
    step, value = force(w, wait_finished, 1, PLACE)
    rec = w.session.record
    assert rec.batch == 3 and rec.filled == rec.length and w.last_error == ""
    assert rec.values[step, 1] == value
