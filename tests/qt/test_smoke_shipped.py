"""Every shipped checkpoint in the studio: it opens, samples a few steps, a hovered past step shows its distribution.

The other studio tests use tiny untrained models; this one opens what ``models/`` ships (RNADE's
densities and PixelCNN++'s 256 levels among them), a few steps each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.safetensors"))
LARGE = ("pixelcnn_pp",)  # a slow step: one sample
STEPS = 6


def test_every_shipped_checkpoint_is_smoke_tested():
    assert len(SHIPPED) >= 10 and {p.stem.split("-")[0] for p in SHIPPED} >= {"rnade", "pixelcnn_pp", "gpt", "nade"}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_a_shipped_checkpoint_samples_and_shows_a_past_step(studio, qtbot, path):
    batch = 1 if path.stem.startswith(LARGE) else 2
    w = studio(path, batch=batch, seed=1)
    assert not w.last_error, w.last_error
    assert w.session.model is not None and w.panel is not None
    if w.panel.modality == "text":
        w.panel.stop_at_end.setChecked(False)  # a few steps, whatever they are
    for _ in range(STEPS):
        w.controls.step_button.click()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled >= STEPS, timeout=30000)
    w._redraw.flush()
    rec = w.session.record
    live = w.dist.view  # the newest step, drawn from the same compact entries a hover shows later
    assert live is not None and w.inspector.shown() == (rec.last_step, w.inspector.sample)
    np.testing.assert_array_equal(live.support, rec.view(rec.last_step, w.inspector.sample).support)
    sample = rec.batch - 1

    if w.panel.modality == "text":
        w.panel.tokens_view.token_hovered.emit(1)
    elif w.panel.modality in ("audio", "music"):  # a sample on the waveform, an event on the piano roll
        (w.panel.waveform if w.panel.modality == "audio" else w.panel.roll).step_hovered.emit(1)
    else:  # the pixel step 1 wrote (its latest channel, for colour)
        _, h, cols = w.panel.shape
        place = int(rec.order[1]) % (h * cols)
        w.panel.canvas.pixel_hovered.emit(sample, place // cols, place % cols)
    shown = w.inspector.shown()
    assert shown is not None and shown[0] < rec.last_step, shown  # a past step, not the newest
    step, sample = shown

    view = w.dist.view
    assert view is not None and f"step {step}" in w.dist.caption.text()
    stored = rec.view(step, sample)
    np.testing.assert_array_equal(view.support, stored.support)
    p = np.asarray(view.probs[0], dtype=np.float64)
    assert p.size and np.isfinite(p).all() and (p >= 0).all() and np.isfinite(view.entropy).all()
    if view.kind == "bars":
        listed = p.sum() + (float(view.rest[0]) if view.rest is not None else 0.0)
        assert listed == pytest.approx(1.0, abs=1e-3)
        assert w.dist.chosen in view.support  # the value it drew is among the bars
        if view.rest is not None and view.others:  # a compact view: the mass of the values it leaves out is drawn too
            assert w.dist.rest_label.isVisible()
            assert w.dist.rest_label.toPlainText() == f"other {view.others} values: p = {float(view.rest[0]):.3f}"
            if not w.dist.in_value_order:  # bars by probability, the rest as one more bar
                assert len(w.dist.bars.opts["height"]) == len(view.support) + 1
    else:
        grid = np.asarray(view.support, dtype=np.float64)
        assert np.isfinite(grid).all() and p.max() > 0
        assert np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(grid)) == pytest.approx(1.0, abs=0.1)
    assert np.isfinite(rec.log_prob[: rec.filled, : rec.batch]).all()
    w.panel.step_hovered.emit(-1, -1)  # off the samples: back to the newest step
    assert w.inspector.shown() == (rec.last_step, w.inspector.sample)
