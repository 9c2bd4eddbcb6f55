"""Comparing two checkpoints: same seed drives both, per-step KL and log p, teacher-forcing heatmap, metrics, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from arstudio.core import registry
from arstudio.core.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
from arstudio.core.generate import sample
from arstudio.core.policy import SamplingPolicy
from arstudio.qt.checkpoints.compare import CompareError, check_comparable, compare_steps, kl_views, teacher_forced


def test_kl_of_bars_and_of_identical_models(checkpoints) -> None:
    from arstudio.core.dists import DistView

    a = DistView("bars", np.arange(2), np.array([[0.5, 0.5], [0.9, 0.1]]), np.zeros(2))
    b = DistView("bars", np.arange(2), np.array([[0.5, 0.5], [0.5, 0.5]]), np.zeros(2))
    np.testing.assert_allclose(kl_views(a, b), [0.0, 0.9 * np.log(1.8) + 0.1 * np.log(0.2)])
    m, _ = load_checkpoint(checkpoints["nade"])
    m2, _ = load_checkpoint(checkpoints["nade"])
    steps = list(compare_steps(m, m2, 3, 5, SamplingPolicy()))
    assert all(np.allclose(s.kl, 0, atol=1e-6) and np.array_equal(s.value_a, s.value_b) for s in steps)


def test_each_side_samples_what_it_would_alone(checkpoints) -> None:
    a, _ = load_checkpoint(checkpoints["nade"])
    b, _ = load_checkpoint(checkpoints["fvsbn"])
    got_a = np.zeros((2, 64))
    got_b = np.zeros((2, 64))
    forced = {3: 1}
    for s in compare_steps(a, b, 2, 9, SamplingPolicy(), forced):
        got_a[:, s.index_a], got_b[:, s.index_b] = s.value_a, s.value_b
        assert (s.kl >= 0).all()
    np.testing.assert_array_equal(got_a, sample(a, batch=2, seed=9, forced={3: torch.tensor(1)}).numpy())
    np.testing.assert_array_equal(got_b, sample(b, batch=2, seed=9, forced={3: torch.tensor(1)}).numpy())


def test_teacher_forcing_matches_log_prob(checkpoints) -> None:
    a, _ = load_checkpoint(checkpoints["made"])
    a.select_ordering(2)
    b, _ = load_checkpoint(checkpoints["nade"])
    x = (np.arange(64) % 3 == 0).astype(np.int64)
    d = teacher_forced(a, b, x)
    xt = torch.as_tensor(x).view(1, -1)
    assert d.log_p_a.sum() == pytest.approx(float(a.log_prob(xt).sum().detach()), abs=1e-4)
    assert d.log_p_b.sum() == pytest.approx(float(b.log_prob(xt).sum().detach()), abs=1e-4)
    assert d.kl.shape == (64,) and (d.kl >= 0).all() and d.kl.sum() > 0


def _text_like(folder: Path) -> Path:
    model = registry.get("nade").build({"shape": [1, 8, 8], "hidden": 4})
    meta = CheckpointMeta(kind="nade", config=model.spec.config, extra={"modality": "text"})
    return save_checkpoint(folder / "texty.safetensors", model, meta)


def test_another_modality_is_a_clear_message(checkpoints, tmp_path) -> None:
    other = _text_like(tmp_path)
    with pytest.raises(CompareError, match="is a text model .* only checkpoints of the same modality"):
        check_comparable(checkpoints["nade"], other)


def test_window_compares_and_draws(qtbot, checkpoints, tmp_path) -> None:
    from arstudio.qt.checkpoints.compare_window import CompareWindow

    w = CompareWindow()
    qtbot.addWidget(w)
    w.set_pair(checkpoints["nade"], checkpoints["made"])
    w.samples.setValue(2)
    img = np.zeros((16, 16), np.uint8)
    img[4:12, 6:10] = 255
    Image.fromarray(img).save(tmp_path / "in.png")
    assert w.set_input(tmp_path / "in.png")
    assert w.start()
    qtbot.waitUntil(lambda: w.finished or bool(w.last_error), timeout=20000)
    assert not w.last_error
    assert not np.isnan(w.values["a"]).any() and not np.isnan(w.values["b"]).any()
    assert len(w.divergence.kl_v) == 64 and (w.divergence.kl_v >= 0).all()
    assert w.heatmap.heat.shape == (8, 8) and w.heatmap.heat.max() > 0
    assert w.disagreement.x.reshape(8, 8)[3:5, 3:5].all()  # the bright bar, binarized
    assert w.table.item(0, 1).text() == "nade" and w.table.item(0, 2).text() == "made"
    assert w.table.item(2, 1).text() == "40.0000"
    # another modality: a clear message, nothing started
    w.set_pair(checkpoints["nade"], _text_like(tmp_path))
    run = w.run_id
    assert not w.start()
    assert w.run_id == run and "same modality" in w.last_error
    w.shutdown()


def test_the_window_opens_compare_with_the_loaded_model(studio, checkpoints) -> None:
    win = studio(checkpoints["nade"])
    cw = win.show_compare()
    assert cw.a.currentData() == str(checkpoints["nade"])
    win.close()
