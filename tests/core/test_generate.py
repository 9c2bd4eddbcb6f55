"""The generation loop: seeds, forced values and branches (prefix)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arstudio.core import GREEDY, Layout, generate, sample
from arstudio.core.registry import get


@pytest.fixture
def nade():
    torch.manual_seed(0)
    m = get("nade").build({"shape": [1, 4, 4], "hidden": 8}).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p))
    return m


def test_same_seed_same_samples(nade) -> None:
    assert torch.equal(sample(nade, batch=5, seed=3), sample(nade, batch=5, seed=3))
    assert not torch.equal(sample(nade, batch=5, seed=3), sample(nade, batch=5, seed=4))


def test_greedy_is_deterministic_whatever_the_seed(nade) -> None:
    assert torch.equal(sample(nade, batch=2, seed=1, policy=GREEDY), sample(nade, batch=2, seed=9, policy=GREEDY))


def test_forced_value_is_kept_and_marked(nade) -> None:
    steps = list(generate(nade, batch=3, seed=0, forced={5: 1, 6: torch.tensor([0, 1, 0])}))
    assert (steps[5].value == 1).all() and steps[5].forced
    assert steps[6].value.tolist() == [0, 1, 0] and steps[6].forced
    assert not steps[4].forced
    # the log p reported for a forced value is the model's, under the kept prefix
    assert np.allclose(steps[5].log_prob, np.log(steps[5].view.probs[:, 1]), atol=1e-5)


def test_prefix_branch_keeps_the_prefix(nade) -> None:
    first = sample(nade, batch=2, seed=0)
    prefix = first[:, :7]
    branch = list(generate(nade, batch=2, seed=11, prefix=prefix, forced={7: 1}))
    values = np.stack([s.value for s in branch], 1)
    assert (values[:, :7] == prefix.numpy()).all()
    assert (values[:, 7] == 1).all()
    assert all(s.forced for s in branch[:8]) and not branch[8].forced


def test_steps_limit_and_too_long_prefix(nade) -> None:
    assert len(list(generate(nade, batch=1, steps=4))) == 4
    with pytest.raises(ValueError, match="prefix"):
        list(generate(nade, batch=1, steps=2, prefix=torch.zeros(1, 3, dtype=torch.long)))


def test_layout_orderings() -> None:
    lay = Layout("image", (1, 2, 3))
    assert lay.length == 6 and lay.place(4) == (0, 1, 1)
    perm = lay.with_order([5, 4, 3, 2, 1, 0])
    assert perm.index(0) == 5 and perm.place(0) == (0, 1, 2)
    assert lay.with_order(range(6)).order is None
    with pytest.raises(ValueError):
        lay.with_order([0, 0, 1, 2, 3, 4])


def test_made_follows_its_ordering() -> None:
    m = get("made").build({"shape": [1, 3, 3], "hidden": [8], "num_masks": 3}).eval()
    m.select_ordering(2)
    steps = list(generate(m, batch=1, seed=0))
    assert [s.index for s in steps] == list(m.orderings[2])
    with pytest.raises(ValueError):
        m.select_ordering(3)
