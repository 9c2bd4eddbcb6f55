"""Mu-law coding: the round trip, the silence code, the level labels."""

from __future__ import annotations

import numpy as np

from arstudio.modalities.audio.mulaw import LEVELS, SILENCE, level_labels, mu_law_decode, mu_law_encode


def test_round_trip_within_one_level() -> None:
    x = np.linspace(-1.0, 1.0, 20001)
    codes = mu_law_encode(x)
    assert codes.dtype == np.int64 and codes.min() == 0 and codes.max() == LEVELS - 1
    back = mu_law_decode(codes)
    # the error is at most half a level, and levels are finest near zero
    assert np.all(np.abs(back - x) <= 0.025)
    assert np.abs(back - x)[np.abs(x) < 0.01].max() < 0.0005
    assert np.array_equal(mu_law_encode(mu_law_decode(np.arange(LEVELS))), np.arange(LEVELS))


def test_silence_monotone_and_clipped() -> None:
    assert mu_law_encode(0.0) == SILENCE == 128
    assert abs(float(mu_law_decode(SILENCE))) < 1e-3
    assert np.all(np.diff(mu_law_decode(np.arange(LEVELS))) > 0)
    assert list(mu_law_encode(np.array([-5.0, 5.0]))) == [0, 255]


def test_level_labels_are_amplitudes() -> None:
    labels = level_labels()
    assert len(labels) == 256 and labels[0] == "-1.0000" and labels[-1] == "+1.0000"
    assert all(lab[0] in "+-" for lab in labels)
    assert float(labels[128]) == float(f"{mu_law_decode(128):+.4f}")
