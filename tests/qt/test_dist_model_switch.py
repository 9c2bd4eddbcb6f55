"""Loading another model clears the distribution view and the log p strip of the old one's labels and ranges."""

from __future__ import annotations

import numpy as np

from tests.qt.test_text_panel import CHARS, tiny_text_checkpoint


LOAD_S = 60  # a checkpoint loads in the sampler's child process: slow on a busy machine


def open_studio(qtbot, path, batch: int = 1):
    """A studio window that has loaded ``path`` (waiting as long as a busy machine needs), set to ``batch`` samples."""
    from arstudio.qt.main_window import MainWindow

    w = MainWindow(path)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.session.model is not None or bool(w.last_error), timeout=LOAD_S * 1000)
    assert not w.last_error, w.last_error
    w.controls.samples.setValue(batch)
    return w


def tick_labels(w) -> set[str]:
    return {t for level in w.dist.plot.getAxis("bottom")._tickLevels or [] for _, t in level if t}


def drawn(w) -> int:
    x = w.strip.curve.getData()[0]
    return 0 if x is None else len(x)


def test_a_binary_model_after_a_text_model_shows_none_of_its_labels_or_ranges(wait_finished, checkpoints, qtbot,
                                                                               tmp_path):
    w = open_studio(qtbot, tiny_text_checkpoint(tmp_path, "gpt"))
    w.controls.play_button.click()
    wait_finished(w, timeout=LOAD_S * 1000)
    assert tick_labels(w) & set(CHARS)  # the text model's tokens name the bars
    assert w.strip._yrange != (-1.0, 0.1) and drawn(w) > 0
    w.open_checkpoint(checkpoints["made"])
    qtbot.waitUntil(lambda: w.session.model is not None and w.session.model.spec.kind == "made"
                    and w.panel.modality == "image", timeout=LOAD_S * 1000)
    w._redraw.flush()
    assert not tick_labels(w), tick_labels(w)  # no token of the old model, before any step of the new one
    assert w.dist.view is None and "chosen" not in w.dist.caption.text()
    assert w.strip._yrange == (-1.0, 0.1)
    lo, hi = w.strip.plot.getViewBox().viewRange()[1]
    assert np.isclose(lo, -1.0) and np.isclose(hi, 0.1)
    assert drawn(w) == 0
    assert w.strip.summary.text() == ""
    # the new model's first step lays out its own values
    w.controls.step_button.click()
    qtbot.waitUntil(lambda: w.dist.view is not None, timeout=LOAD_S * 1000)
    assert tick_labels(w) <= {"0", "1"}
    w.close()
