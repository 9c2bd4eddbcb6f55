"""The studio's sampling loop draws the views of many steps in one pass (``Dist.stack``).

For every registered kind, the views drawn that way equal the ones each step would have drawn
for itself: no cursor hands out a distribution whose tensors it later changes in place, and
stacking keeps every kind's settings (labels, grid, levels).
"""

from __future__ import annotations

import numpy as np
import pytest

from arstudio.core.generate import generate
from arstudio.core.registry import kinds
from arstudio.engine.emitter import _segments
from arstudio.testing import build_tiny, random_cond


@pytest.mark.parametrize("kind", [k.name for k in kinds()])
def test_views_drawn_in_bulk_equal_each_steps_own(kind):
    model, _ = build_tiny(kind)
    batch, steps = 3, min(40, model.layout.length)
    cond = random_cond(model, batch, seed=1)
    own = list(generate(model, batch=batch, steps=steps, cond=cond, seed=5))
    kept = list(generate(model, batch=batch, steps=steps, cond=cond, seed=5, keep_dists=True))
    assert all(s.view is None and s.dist is not None for s in kept)
    got = []
    for chunk in (kept[:7], kept[7:8], kept[8:]):  # runs of several lengths, one of a single step
        for run, head, probs, entropy in _segments(chunk):
            assert head is not None and probs is not None and entropy is not None
            for k in range(len(run)):
                got.append((head.kind, head.support, head.labels, probs[k], entropy[k]))
    assert len(got) == len(own)
    for s, (kind_, support, labels, probs, entropy) in zip(own, got, strict=True):
        assert s.view is not None and kind_ == s.view.kind and labels == s.view.labels
        np.testing.assert_allclose(support, s.view.support)
        np.testing.assert_allclose(probs, s.view.probs, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(entropy, s.view.entropy, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(np.stack([s.value for s in own]), np.stack([s.value for s in kept]))
