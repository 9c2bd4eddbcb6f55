"""The one format of an audio model's conditioning: a voice and a log-mel packed into one float row.

A row is float32 ``[1 + n_mels * F]``: column 0 is the voice index (0 .. len(voices) - 1, or -1
for no voice), the rest the log-mel [n_mels, F] flattened row-major (mel bin major); a row of
length 1 has no mel. Frame j conditions samples [j hop, (j + 1) hop); samples past the last frame
have no mel. A batch is [B, K] (rows of one length); ``None`` means neither voice nor mel. The
WaveNet (``arstudio.models.wavenet``) unpacks the same format in torch; data sets, the command
line and the Audio panel pack with ``pack_condition``; ``recipe_condition`` gives the row as an
export's replay recipe stores it (generate with that, and the export replays byte for byte).
"""

from __future__ import annotations

import json

import numpy as np

NO_VOICE = -1
RECIPE_DECIMALS = 3  # log-mel values in a recipe: nats to 1e-3, which keeps a 10 s recipe ~0.4 MB


def pack_condition(voice: int | None, mel: np.ndarray | None) -> np.ndarray:
    """One row [1 + n_mels * F] float32 from a voice index and a log-mel [n_mels, F] (either None: none)."""
    v = NO_VOICE if voice is None else int(voice)
    if v < NO_VOICE:
        raise ValueError(f"a voice index is >= 0 (or None for no voice), got {voice}")
    if mel is None:
        return np.asarray([v], dtype=np.float32)
    m = np.asarray(mel, dtype=np.float32)
    if m.ndim != 2:
        raise ValueError(f"a log-mel is [n_mels, frames], got shape {list(m.shape)}")
    return np.concatenate([np.asarray([v], dtype=np.float32), m.reshape(-1)])


def unpack_condition(row: np.ndarray, n_mels: int) -> tuple[int | None, np.ndarray | None]:
    """(voice or None, log-mel [n_mels, F] or None) of one row packed by ``pack_condition``."""
    r = np.asarray(row, dtype=np.float32).reshape(-1)
    if r.size == 0:
        raise ValueError("a conditioning row has at least the voice column")
    v = int(round(float(r[0])))
    voice = None if v < 0 else v
    rest = r[1:]
    if rest.size == 0:
        return voice, None
    if n_mels < 1 or rest.size % n_mels:
        raise ValueError(f"a conditioning row of {r.size} values is not 1 + {n_mels} mel bins x frames")
    return voice, rest.reshape(n_mels, rest.size // n_mels)


def stack_conditions(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of one length as a batch [B, K] float32; ValueError when their lengths differ."""
    if not rows:
        raise ValueError("no conditioning rows to stack")
    sizes = {int(np.asarray(r).size) for r in rows}
    if len(sizes) != 1:
        raise ValueError(f"conditioning rows of a batch share one length; got {sorted(sizes)}")
    return np.stack([np.asarray(r, dtype=np.float32).reshape(-1) for r in rows])


def recipe_condition(voice: int | None, mel: np.ndarray | None) -> list[list[float]] | None:
    """The conditioning of a batch of one as a replay recipe holds it: [[voice, mel ...]] (None: no voice, no mel).

    Values are rounded to ``RECIPE_DECIMALS`` and passed through JSON, so ``torch.as_tensor`` of the
    result is the very tensor ``arstudio replay`` builds from the file: generate with it (not with
    the unrounded mel) and the export replays byte for byte.
    """
    if voice is None and mel is None:
        return None
    row = np.round(pack_condition(voice, mel).astype(np.float64), RECIPE_DECIMALS)
    return json.loads(json.dumps([row.tolist()]))
