"""The one value-to-brightness map (``to_unit``) and its inverse (``quantize``)."""

from __future__ import annotations

import numpy as np

from arstudio.core.spec import ValueSpace
from arstudio.io.export import to_unit
from arstudio.io.images import quantize


def test_to_unit_undoes_quantize_for_every_kind_of_values() -> None:
    unit = np.linspace(0.0, 1.0, 33)
    for space in (ValueSpace("categorical", 17), ValueSpace("categorical", 256), ValueSpace("continuous", 17)):
        np.testing.assert_allclose(to_unit(space, quantize(unit, space)), unit, atol=0.5 / (space.n - 1))
    binary = ValueSpace("binary")
    np.testing.assert_array_equal(to_unit(binary, quantize(unit, binary)), (unit >= 0.5).astype(float))


def test_unsampled_places_stay_nan_and_outside_values_are_clipped() -> None:
    out = to_unit(ValueSpace("continuous", 0, low=-1.0, high=1.0), np.array([np.nan, -3.0, 0.0, 3.0]))
    assert np.isnan(out[0])
    np.testing.assert_array_equal(out[1:], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(to_unit(ValueSpace("categorical", 5), np.array([0, 2, 4])), [0.0, 0.5, 1.0])
