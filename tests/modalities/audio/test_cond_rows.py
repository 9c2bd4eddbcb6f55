"""The conditioning row: packing and unpacking, and that the WaveNet reads the same voice and mel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from arstudio.modalities.audio.condition import pack_condition, stack_conditions, unpack_condition


def test_pack_unpack_round_trip() -> None:
    mel = np.arange(3 * 5, dtype=np.float32).reshape(3, 5) - 7.0
    row = pack_condition(2, mel)
    assert row.dtype == np.float32 and row.shape == (1 + 15,) and row[0] == 2.0
    assert np.array_equal(row[1:6], mel[0])  # mel bin major
    voice, back = unpack_condition(row, 3)
    assert voice == 2 and np.array_equal(back, mel)
    assert unpack_condition(pack_condition(None, None), 3) == (None, None)
    v, m = unpack_condition(pack_condition(None, mel), 3)
    assert v is None and np.array_equal(m, mel)
    assert unpack_condition(pack_condition(4, None), 80) == (4, None)


def test_bad_rows_are_one_line_errors() -> None:
    with pytest.raises(ValueError, match="not 1 \\+ 3 mel bins"):
        unpack_condition(np.zeros(1 + 7, dtype=np.float32), 3)
    with pytest.raises(ValueError, match="\\[n_mels, frames\\]"):
        pack_condition(0, np.zeros(4))
    with pytest.raises(ValueError, match="share one length"):
        stack_conditions([pack_condition(0, None), pack_condition(0, np.zeros((2, 2)))])
    assert stack_conditions([pack_condition(0, None), pack_condition(1, None)]).shape == (2, 1)


def test_wavenet_reads_the_packed_row() -> None:
    wavenet = pytest.importorskip("arstudio.models.wavenet")
    from arstudio.core.registry import get

    kind = get("wavenet")
    model = kind.build({**kind.tiny_config, "voices": ["a", "b", "c"], "n_mels": 4, "hop_length": 8})
    assert isinstance(model, wavenet.WaveNet)
    mel = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    rows = torch.as_tensor(stack_conditions([pack_condition(2, mel), pack_condition(None, mel),
                                             pack_condition(1, mel)]))
    voice, got = model.unpack_cond(rows, 3)
    assert voice.tolist() == [2, model.n_voices, 1]  # -1: the model's "no voice" row
    for b in range(3):
        assert np.array_equal(got[b].numpy(), unpack_condition(rows[b].numpy(), 4)[1])
    voice, got = model.unpack_cond(torch.as_tensor(pack_condition(0, None))[None], 1)
    assert voice.tolist() == [0] and got is None


def test_recipe_condition_is_what_replay_rebuilds() -> None:
    import json

    from arstudio.modalities.audio.condition import recipe_condition

    mel = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32) * 3
    cond = recipe_condition(1, mel)
    assert len(cond) == 1 and len(cond[0]) == 13 and cond[0][0] == 1.0
    again = json.loads(json.dumps(cond, separators=(",", ":"), sort_keys=True))  # the recipe's text, read back
    assert torch.equal(torch.as_tensor(again), torch.as_tensor(cond))
    assert torch.as_tensor(cond).dtype == torch.float32
    np.testing.assert_allclose(np.asarray(cond[0][1:]).reshape(3, 4), mel, atol=5e-4)
    assert recipe_condition(None, None) is None and recipe_condition(None, mel)[0][0] == -1.0
