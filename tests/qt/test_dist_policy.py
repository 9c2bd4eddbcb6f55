"""The distribution view shows the sampling policy: the bars it draws from, the model's faint behind, the cut marked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arstudio.core.dists import Categorical, DistView
from arstudio.core.policy import SamplingPolicy
from arstudio.engine.messages import StepDists
from arstudio.qt.views.dist_plot import DistPlot
from arstudio.core.policy_bars import policy_bars
from tests.qt.test_dist_model_switch import LOAD_S, open_studio
from tests.qt.test_text_panel import tiny_text_checkpoint

LABELS = tuple("abcdefghij")


def peaked(n: int = 10, seed: int = 0) -> DistView:
    rng = np.random.default_rng(seed)
    p = np.sort(rng.dirichlet(np.ones(n)))[::-1].copy()  # distinct, most likely first
    return DistView("bars", np.arange(n), p[None], np.array([1.5]), LABELS[:n])


def test_top_k_3_draws_three_policy_bars_with_the_model_faint_behind(qtbot):
    plot = DistPlot()
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    view = peaked()
    plot.show_dist(view, chosen=1, log_p=float(np.log(view.probs[0, 1])), title="step 3",
                   policy=SamplingPolicy(top_k=3))
    heights = np.asarray(plot.bars.opts["height"])
    assert np.count_nonzero(heights) == 3 and heights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(heights[:3], view.probs[0, :3] / view.probs[0, :3].sum(), rtol=1e-6)
    raw = np.asarray(plot.raw_bars.opts["height"])  # the model's own p, every value
    np.testing.assert_allclose(raw, view.probs[0])
    assert np.count_nonzero(raw) == 10
    faint = plot.raw_bars.opts["brushes"][5].color().alpha()
    assert faint < 128 and plot.bars.opts["brushes"][0].color().alpha() == 255
    assert plot.cut_line.isVisible() and plot.cut_line.value() == pytest.approx(2.5)  # between kept and cut
    assert plot.cut_label.isVisible() and "top-k 3: 3 of 10 kept" in plot.cut_label.toPlainText()
    assert "top-k 3" in plot.plot.getAxis("bottom").labelText
    # the plain policy draws the model's own distribution: no faint copy, no cut
    plot.show_dist(view, chosen=1, log_p=-1.0, policy=SamplingPolicy())
    np.testing.assert_allclose(plot.bars.opts["height"], view.probs[0])
    assert len(plot.raw_bars.opts["height"]) == 0 and not plot.cut_line.isVisible()
    assert plot.plot.getAxis("bottom").labelText == "value"


@pytest.mark.parametrize("policy", [SamplingPolicy(0.7), SamplingPolicy(1.0, 0, 0.6), SamplingPolicy(1.5, 4, 0.9),
                                    SamplingPolicy(0.0)])
def test_policy_bars_are_what_sampling_draws_from(policy):
    logits = torch.randn(1, 50, generator=torch.Generator().manual_seed(1)) * 2
    view = Categorical(logits).view()
    bars = policy_bars(view, policy)
    want = (torch.nn.functional.one_hot(logits.argmax(-1), 50).double() if policy.greedy
            else torch.softmax(policy.filter_logits(Categorical(logits).logits).double(), -1))
    np.testing.assert_allclose(bars.probs, want[0].numpy(), atol=1e-6)
    assert bars.exact and bars.rest == 0.0


def test_a_compact_view_gives_the_exact_policy_when_the_cut_falls_inside_it():
    logits = torch.randn(1, 300, generator=torch.Generator().manual_seed(2)) * 3
    full = Categorical(logits).view()
    compact = StepDists.compact([full]).row(0, 0)  # the record's: 16 most likely values and the rest mass
    assert compact.others == 300 - 16
    policy = SamplingPolicy(0.5, 5, 1.0)
    got, want = policy_bars(compact, policy), policy_bars(full, policy)
    assert got.exact and got.rest == 0.0 and got.kept.sum() == 5
    np.testing.assert_allclose(got.probs, want.probs[np.asarray(compact.support)], atol=1e-5)
    loose = policy_bars(compact, SamplingPolicy(0.5))  # temperature alone reaches the values left out
    assert not loose.exact and loose.rest > 0


def test_the_window_draws_the_runs_policy(wait_finished, qtbot, tmp_path):
    w = open_studio(qtbot, tiny_text_checkpoint(tmp_path, "gpt"))
    w.controls.top_k.setValue(3)
    qtbot.waitUntil(lambda: w.session.settings.policy.top_k == 3, timeout=20000)
    w.controls.play_button.click()
    wait_finished(w, timeout=LOAD_S * 1000)
    rec = w.session.record
    assert rec.info.request.policy.top_k == 3
    heights = np.asarray(w.dist.bars.opts["height"])
    assert np.count_nonzero(heights) == 3
    raw = np.asarray(w.dist.raw_bars.opts["height"])
    assert np.count_nonzero(raw) == len(raw) > 3  # the model's whole distribution, faint
    assert w.dist.cut_line.isVisible()
    w.close()
