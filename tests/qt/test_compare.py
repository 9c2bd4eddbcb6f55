"""The Compare window: images and text, per-step KL and log p, teacher forcing, metrics, clear errors.

The comparison's logic (the core's one loop driving both models, KL, summaries) is tested without
Qt in tests/train/test_compare_logic.py (a basename apart from this file's, as pytest's default
import mode needs); here the window and its job.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arstudio.engine.compare_run import CompareError, check_comparable
from tests.train.test_compare_logic import text_checkpoint


@pytest.fixture(scope="module")
def texts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny text models with one tokenizer (a GPT of 24 tokens, an RNN of 16), and a GPT with another."""
    d = tmp_path_factory.mktemp("compare-text")
    return {"gpt": text_checkpoint(d, "gpt"), "rnn": text_checkpoint(d, "char_rnn", length=16),
            "other": text_checkpoint(d, "gpt", chars="abc xyzh\n", name="other")}


def test_another_modality_is_a_clear_message(checkpoints, texts) -> None:
    with pytest.raises(CompareError, match="is a text model .* only checkpoints of the same modality"):
        check_comparable(checkpoints["nade"], texts["gpt"])


def _run(w, qtbot) -> None:
    assert w.start()
    qtbot.waitUntil(lambda: w.finished or bool(w.last_error), timeout=20000)
    assert not w.last_error


def test_window_compares_and_draws(qtbot, checkpoints, texts, tmp_path) -> None:
    from arstudio.qt.checkpoints.compare_window import CompareWindow

    w = CompareWindow()
    qtbot.addWidget(w)
    w.set_pair(checkpoints["nade"], checkpoints["made"])
    w.samples.setValue(2)
    img = np.zeros((16, 16), np.uint8)
    img[4:12, 6:10] = 255
    Image.fromarray(img).save(tmp_path / "in.png")
    assert not w.input_button.isHidden()
    assert w.set_input(tmp_path / "in.png")
    _run(w, qtbot)
    assert not np.isnan(w.values["a"]).any() and not np.isnan(w.values["b"]).any()
    assert len(w.divergence.kl_v) == 64 and (w.divergence.kl_v >= 0).all()
    assert not w.heatmap.isHidden() and w.text_a.isHidden() and w.disagreements.isHidden()
    assert w.heatmap.heat.shape == (8, 8) and w.heatmap.heat.max() > 0
    assert w.heatmap.scale.levels() == pytest.approx((0.0, w.heatmap.heat.max()))  # the colour scale, in nats
    assert w.disagreement.x.reshape(8, 8)[3:5, 3:5].all()  # the bright bar, binarized
    assert w.table.item(0, 1).text() == "nade" and w.table.item(0, 2).text() == "made"
    assert w.table.item(2, 1).text() == "40.0000" and w.table.item(2, 0).text() == "test NLL (nats/image)"
    assert w.summary is not None and w.summary.steps == 64 and "per dim" in w.status.text()
    # another modality: a clear message, nothing started
    w.set_pair(checkpoints["nade"], texts["gpt"])
    run = w.run_id
    assert not w.start()
    assert w.run_id == run and "same modality" in w.last_error
    w.shutdown()


def test_window_compares_two_text_checkpoints(qtbot, texts, tmp_path) -> None:
    from arstudio.qt.checkpoints.compare_window import CompareWindow

    w = CompareWindow()
    qtbot.addWidget(w)
    w.set_pair(texts["gpt"], texts["rnn"])
    w.samples.setValue(3)
    _run(w, qtbot)
    s = w.summary
    assert s is not None and s.steps == 16 and s.batch == 3  # up to the RNN's shorter context
    assert all(math.isfinite(v) for v in (s.kl_mean, s.kl_max, s.dlogp_mean, s.dlogp_abs_mean)) and s.kl_mean > 0
    assert f"Mean KL(A ‖ B) {s.kl_mean:.4f} nats per token" in w.status.text() and "nan" not in w.status.text()
    assert len(w.divergence.kl_v) == 16 and np.isfinite(w.divergence.kl_v).all()
    assert np.isfinite(w.divergence.dlogp_v).all()
    # the samples as text, the steps of largest KL beside them; no image views
    assert w.canvas_a.isHidden() and w.heatmap.isHidden() and not w.text_a.isHidden()
    lines = w.text_a.toPlainText().split("\n")
    assert len(lines) == 3 and all(lines)
    assert w.disagreements.toPlainText().startswith("Largest KL(A ‖ B) per token, sample 1:")
    assert w.disagreements.toPlainText().count("\nstep ") == 12
    # teacher forcing on a text file: both read its tokens
    (tmp_path / "in.txt").write_text("abc de fg\nabc de fg\n", encoding="utf-8")
    assert not w.input_button.isHidden()
    assert w.set_input(tmp_path / "in.txt")
    _run(w, qtbot)
    assert w.disagreement is not None and w.disagreement.shape == (16,) and np.isfinite(w.disagreement.kl).all()
    assert "Teacher-forced on in.txt" in w.disagreements.toPlainText()
    # another tokenizer: a clear message, nothing started
    w.set_pair(texts["gpt"], texts["other"])
    run = w.run_id
    assert not w.start()
    assert w.run_id == run and "different tokenizers" in w.last_error
    w.shutdown()


def test_no_exception_leaves_a_slot(qtbot) -> None:
    from arstudio.qt.checkpoints.compare_window import CompareWindow

    w = CompareWindow()
    qtbot.addWidget(w)
    w._on_steps(object())  # what no worker sends: said on the status line, not raised into Qt
    assert w.last_error.startswith("internal error: AttributeError")
    w.shutdown()


def test_closing_mid_comparison_ends_the_job_and_joins_its_thread(qtbot, texts, monkeypatch) -> None:
    from arstudio.engine import compare_run as compare
    from arstudio.qt.checkpoints.compare_window import CompareWindow

    real, runs = compare.compare_steps, []

    def slow(*args, **kw):  # 16 steps of 50 ms: the comparison is surely running when the window closes
        run = {"steps": 0, "closed": False}
        runs.append(run)
        try:
            for step in real(*args, **kw):
                time.sleep(0.05)
                run["steps"] += 1
                yield step
        finally:
            run["closed"] = run["steps"] < 16

    monkeypatch.setattr(compare, "compare_steps", slow)
    w = CompareWindow()
    qtbot.addWidget(w)
    w.show()
    w.set_pair(texts["gpt"], texts["rnn"])
    assert w.start()
    qtbot.waitUntil(lambda: len(w.divergence.kl_v) > 0, timeout=20000)
    assert w.start()  # a newer Compare ends the old job at its next yield
    qtbot.waitUntil(lambda: len(runs) == 2 and runs[0]["closed"] and len(w.divergence.kl_v) > 0, timeout=20000)
    thread = w.jobs.worker_thread
    assert thread.isRunning() and not w.finished
    w.close()  # mid-comparison: the job is closed at its next step and the thread joined
    assert thread.isFinished() and runs[1]["closed"]
    qtbot.wait(100)  # nothing more is delivered: no summary, no error, no exception out of a slot
    assert not w.finished and w.summary is None and not w.last_error and w.status.text() == "Stopped."
    # opened again, Compare starts a new thread
    monkeypatch.setattr(compare, "compare_steps", real)
    w.show()
    _run(w, qtbot)
    assert w.jobs.worker_thread is not thread and w.summary is not None and w.summary.steps == 16
    w.shutdown()


def test_the_window_opens_compare_with_the_loaded_model(studio, checkpoints) -> None:
    from arstudio.train.compare_pairing import compares

    win = studio(checkpoints["nade"])
    cw = win.show_compare()
    assert cw.a.currentData() == str(checkpoints["nade"])
    b = cw.b.currentData()  # another binary 8x8 model of the digits, not the model itself
    assert b is not None and b != cw.a.currentData() and compares(checkpoints["nade"], b)
    win.close()


def test_a_branch_of_one_sample_drives_a_comparison_of_another_batch() -> None:
    import numpy as np

    from arstudio.qt.checkpoints.compare_window import forced_for_batch

    got = forced_for_batch({3: np.array([1.0] + [0.0] * 15), 5: 1, 7: np.array([1, 0])}, 2)
    assert got[3] == 1.0 and got[5] == 1 and list(got[7]) == [1, 0]


def test_escape_closes_the_window(qtbot) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from arstudio.qt.checkpoints.compare_window import CompareWindow

    w = CompareWindow()
    qtbot.addWidget(w)
    w.show()
    w.samples.setFocus()  # (takes effect once the window is active)
    qtbot.waitUntil(lambda: w.isActiveWindow() and QApplication.focusWidget() is w.samples, timeout=20000)
    qtbot.keyClick(w.samples, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=20000)
    w.shutdown()


def _shipped(name: str) -> str:
    from arstudio.core.catalog import SHIPPED_DIR

    return str(SHIPPED_DIR / f"{name}.safetensors")


def test_b_defaults_to_a_checkpoint_that_compares_with_a(qtbot) -> None:
    from arstudio.qt.checkpoints.compare_window import CompareWindow

    w = CompareWindow()
    qtbot.addWidget(w)
    for a, b in (("gated_pixelcnn-glyphs28", "pixelcnn-glyphs28"), ("music_transformer-bach", "music_transformer_abs-bach"),
                 ("pixelcnn-glyphs28", "gated_pixelcnn-glyphs28")):
        w.refresh([])
        w.set_pair(_shipped(a), w.b.currentData() or _shipped(a))  # as the studio opens it on its model
        assert (w.a.currentData(), w.b.currentData()) == (_shipped(a), _shipped(b))
        assert "No other" not in w.status.text()
    w.set_pair(_shipped("nade-digits"), _shipped("nade-digits"))  # never A itself: the same data set first
    assert w.b.currentData() in {_shipped(n) for n in ("made-digits", "eonade-digits", "fvsbn-digits")}
    # picking another A in the window: B follows it
    w.a.setCurrentIndex(w.a.findData(_shipped("music_transformer_abs-bach")))
    assert w.b.currentData() == _shipped("music_transformer-bach")
    # none compares: B is empty and the window says so
    w.a.setCurrentIndex(w.a.findData(_shipped("rnade-digits-real")))
    assert w.b.currentIndex() == -1 and w.b.placeholderText() == "no checkpoint compares with A"
    assert w.status.text().startswith("No other checkpoint compares with rnade-digits-real (image, real values")
    assert not w.run_button.isEnabled() and not w.start() and "pick a checkpoint B" in w.last_error
    # a B picked by hand that does not compare: said at once
    w.set_pair(_shipped("nade-digits"), _shipped("pixelcnn-digits17"))
    assert w.b.currentData() == _shipped("pixelcnn-digits17") and "values differ" in w.status.text()
    assert w.run_button.isEnabled()
    w.shutdown()


def test_the_metrics_table_gives_text_in_bits_per_character() -> None:
    from arstudio.train.compare_text import metric_rows

    rows = [("kind", "gpt", "char_rnn"), ("test NLL (nats)", "931.0", "288.4"), ("test bits/token", "5.2467", "1.6255"),
            ("parameters", "1", "2")]
    got = metric_rows(rows, "text", {"test_bits_per_char": 1.8325}, {"test_bits_per_char": 1.6255})
    assert got == [("kind", "gpt", "char_rnn"), ("test NLL (nats/window)", "931.0", "288.4"),
                   ("test bits/token", "5.2467", "1.6255"), ("test bits/char", "1.8325", "1.6255"), ("parameters", "1", "2")]
    assert metric_rows(got, "text", {"test_bits_per_char": 1.8}, {}) == got  # shown once


def test_the_input_picker_opens_in_the_last_folder(qtbot, checkpoints, tmp_path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    from arstudio.qt.checkpoints.compare_window import CompareWindow

    w = CompareWindow()
    qtbot.addWidget(w)
    w.set_pair(checkpoints["nade"], checkpoints["made"])
    starts: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: starts.append(args[2]) or ("", ""))
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "in.png")
    assert w.set_input(tmp_path / "in.png")
    w._pick_input()
    assert starts == [str(tmp_path)]
    w.shutdown()


def test_a_summary_counts_in_words() -> None:
    from arstudio.core.modality import plural

    assert (plural(1, "token"), plural(16, "token"), plural(0, "dim")) == ("1 token", "16 tokens", "0 dims")
