"""A panel's choice of condition, spread over a run's samples."""

from __future__ import annotations

import numpy as np
import pytest

from arstudio.engine.messages import Condition


def test_one_value_for_every_sample_or_each_in_turn() -> None:
    np.testing.assert_array_equal(Condition(np.array([7])).for_batch(3), [7, 7, 7])
    np.testing.assert_array_equal(Condition(np.array(7)).for_batch(2), [7, 7])
    np.testing.assert_array_equal(Condition(np.arange(3)).for_batch(5), [0, 1, 2, 0, 1])
    recorded = np.array([4, 1, 1, 9])  # a replayed recipe's labels come back exactly
    np.testing.assert_array_equal(Condition(recorded).for_batch(4), recorded)


def test_an_array_condition_is_shared_by_every_sample() -> None:
    mel = np.random.default_rng(0).normal(size=(1, 5, 7))  # e.g. a mel spectrogram [1, mels, frames]
    out = Condition(mel).for_batch(3)
    assert out.shape == (3, 5, 7) and all(np.array_equal(o, mel[0]) for o in out)


def test_equality_is_by_value_and_empty_is_refused() -> None:
    assert Condition(np.array([1, 2])) == Condition(np.array([1, 2]))
    assert Condition(np.array([1, 2])) != Condition(np.array([2, 1]))
    assert Condition(np.array([1])) != None  # noqa: E711 (the session compares with None)
    with pytest.raises(ValueError, match="at least one value"):
        Condition(np.array([]))
