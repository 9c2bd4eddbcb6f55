"""The anomaly benchmark's pieces: exact ROC AUC and FGSM's bounds (no shipped checkpoint needed)."""

from __future__ import annotations

import pytest
import torch

from arstudio.bench.anomaly import (
    GlyphMLP,
    fgsm,
    sparse_fgsm,
    gaussian_noise,
    roc_auc,
    train_classifier,
)


def test_roc_auc_perfect_reversed_and_ties() -> None:
    assert roc_auc([1.0, 2.0, 3.0], [4.0, 5.0]) == 1.0
    assert roc_auc([4.0, 5.0], [1.0, 2.0, 3.0]) == 0.0
    assert roc_auc([2.0, 2.0], [2.0, 2.0, 2.0]) == 0.5


def test_roc_auc_hand_example() -> None:
    # pairs (pos, neg): 3>1, 3>2, 3=3 -> 2.5 of 3; 2>1, 2=2, 2<3 -> 1.5 of 3; total 4 / 6
    assert roc_auc([1.0, 2.0, 3.0], [3.0, 2.0]) == pytest.approx(4 / 6, abs=0)
    with pytest.raises(ValueError):
        roc_auc([], [1.0])


def test_fgsm_stays_within_epsilon_and_levels() -> None:
    levels, dims, classes = 8, 16, 3
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, levels, (60, dims), generator=gen)
    y = torch.randint(0, classes, (60,), generator=gen)
    x[:, 0], x[:, 1] = 0, levels - 1  # pixels at both ends of the range
    clf = train_classifier(x, y, classes, levels, epochs=2, batch=32)
    assert isinstance(clf, GlyphMLP)
    adv = fgsm(clf, x, y, 1, levels)
    assert adv.dtype == x.dtype and adv.shape == x.shape
    assert int((adv - x).abs().max()) <= 1
    assert int(adv.min()) >= 0 and int(adv.max()) <= levels - 1
    assert bool((adv != x).any())
    loss = torch.nn.functional.cross_entropy
    with torch.no_grad():
        assert float(loss(clf(adv), y)) > float(loss(clf(x), y))  # the step raises the loss


def test_gaussian_noise_is_rounded_and_clipped() -> None:
    x = torch.randint(0, 8, (10, 20), generator=torch.Generator().manual_seed(1))
    noisy = gaussian_noise(x, 1.0, 8, torch.Generator().manual_seed(2))
    assert noisy.dtype == x.dtype and int(noisy.min()) >= 0 and int(noisy.max()) <= 7


def test_sparse_fgsm_moves_only_the_largest_gradient_pixels() -> None:
    levels, dims, classes = 8, 40, 3
    gen = torch.Generator().manual_seed(3)
    x = torch.randint(1, levels - 1, (30, dims), generator=gen)  # every pixel can move both ways
    y = torch.randint(0, classes, (30,), generator=gen)
    clf = train_classifier(x, y, classes, levels, epochs=2, batch=16)
    adv = sparse_fgsm(clf, x, y, 1, levels, 0.1)
    moved = adv != x
    assert moved.sum(dim=1).max() <= 4 and moved.sum(dim=1).min() >= 1  # ceil(0.1 * 40) = 4 per image
    assert int((adv - x).abs().max()) == 1
    full = fgsm(clf, x, y, 1, levels)
    assert bool(((adv == full) | ~moved).all())  # each moved pixel went the way FGSM moves it
    with pytest.raises(ValueError):
        sparse_fgsm(clf, x, y, 1, levels, 0.0)
