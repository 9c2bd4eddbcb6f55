"""PixelRNN Row LSTM: a triangular, causal receptive field; the cursor keeps the recurrent state."""

from __future__ import annotations

import pytest
import torch

from arstudio.core import NaiveCursor, SamplingPolicy, generate
from arstudio.core.registry import get
from arstudio.models.dependency import receptive_field

H, W, L = 5, 7, 4
SMALL = {"shape": [1, H, W], "values": "categorical", "levels": L, "channels": 8, "layers": 2, "kernel": 3,
         "first_kernel": 3, "head": 8}



def small(**over):
    torch.manual_seed(0)
    model = get("pixelrnn").build({**SMALL, **over})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def data(batch: int, seed: int) -> torch.Tensor:
    return torch.randint(L, (batch, H * W), generator=torch.Generator().manual_seed(seed))


def test_receptive_field_is_causal_and_triangular() -> None:
    """One Row LSTM layer after a 3x3 mask-A conv: row i-r is seen up to column j + r, the row itself near j only."""
    model = get("pixelrnn").build({**SMALL, "layers": 1, "shape": [1, 6, 9]})
    i, j = 5, 4
    seen = receptive_field(model, i * 9 + j, (6, 9), trials=3)
    earlier = torch.arange(54).view(6, 9) < i * 9 + j
    assert not (seen & ~earlier).any(), "a pixel sees itself or a later pixel"
    assert seen[i, j - 2:j].all() and not seen[i, : j - 2].any()  # the row: K^is (j-1, j) of the first conv's j-1
    for r in range(1, 6):  # rows above: contiguous, the right edge moves out one column per row
        cols = seen[i - r].nonzero().squeeze(1)
        assert len(cols) and int(cols.max()) == min(j + r, 8) and len(cols) == int(cols.max() - cols.min()) + 1
    assert not seen[i - 1, j + 2]  # outside the triangle, though inside a 5-row PixelCNN-like box


@torch.no_grad()
def test_cursor_equals_parallel_across_rows_select_and_prefill() -> None:
    model = small()
    x = data(3, 1)
    parallel = model.log_prob(x)
    cur = model.start(3)
    for t in range(10):
        torch.testing.assert_close(cur.dist().log_prob(x[:, t]), parallel[:, t], atol=1e-5, rtol=1e-5)
        cur.push(x[:, t])
    cur.prefill(x[:, 10:16])  # pushes without dist(), across a row end
    rows = torch.tensor([1, 2, 1])
    cur.select(rows)
    parallel = model.log_prob(x[rows])
    for t in range(16, H * W):
        torch.testing.assert_close(cur.dist().log_prob(x[rows, t]), parallel[:, t], atol=1e-5, rtol=1e-5)
        cur.push(x[rows, t])


def test_cursor_samples_like_naive_cursor() -> None:
    model = small()
    for policy in (SamplingPolicy(), SamplingPolicy(temperature=0.8, top_k=3), SamplingPolicy(temperature=0)):
        fast = [s.value for s in generate(model, batch=4, seed=7, policy=policy)]
        naive = [s.value for s in generate(model, batch=4, seed=7, policy=policy, cursor=NaiveCursor(model, 4))]
        assert all((a == b).all() for a, b in zip(fast, naive, strict=True))


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="one grey channel"):
        get("pixelrnn").build({"shape": [3, 8, 8]})
    with pytest.raises(ValueError, match="odd kernel"):
        get("pixelrnn").build({"shape": [1, 8, 8], "kernel": 2})
