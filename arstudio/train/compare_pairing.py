"""Which checkpoints compare with which: the Compare window's default B for an A (no Qt).

Two checkpoints compare when ``arstudio.train.compare.comparable_steps`` accepts their models: one
modality, the same values (kind, levels, range), the same tokenizer, the same shape (sequences:
any lengths). What a checkpoint generates is read from its header alone: its model is built on
PyTorch's meta device (no weights are allocated or loaded), once per file version.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from arstudio.core.checkpoint import CheckpointMeta, read_meta
from arstudio.core.protocol import ARModel
from arstudio.core.registry import get as get_kind
from arstudio.train.compare import check_comparable, comparable_steps, describe_tokenizer

_metas: dict[tuple[str, int], CheckpointMeta | None] = {}
_models: dict[tuple[str, int], ARModel | None] = {}


def _key(path: str | os.PathLike) -> tuple[str, int] | None:
    p = Path(path)
    try:
        return None if p.is_dir() else (str(p.resolve()), p.stat().st_mtime_ns)
    except OSError:
        return None


def _meta(path: str | os.PathLike) -> CheckpointMeta | None:
    """A checkpoint file's metadata, read once per file version (None for a folder or an unreadable file)."""
    key = _key(path)
    if key is None:
        return None
    if key not in _metas:
        try:
            _metas[key] = read_meta(path)
        except Exception:  # unreadable: it compares with nothing
            _metas[key] = None
    return _metas[key]


def describe(path: str | os.PathLike) -> tuple[CheckpointMeta, ARModel] | None:
    """A checkpoint's metadata and a weightless model of it (None for a folder or a file that cannot be read)."""
    key, meta = _key(path), _meta(path)
    if key is None or meta is None:
        return None
    if key not in _models:
        try:
            with torch.device("meta"):
                _models[key] = get_kind(meta.kind).build(meta.config)
        except Exception:  # an unknown kind or a config it refuses: it compares with nothing
            _models[key] = None
    model = _models[key]
    return None if model is None else (meta, model)


def why_not(a: str | os.PathLike, b: str | os.PathLike) -> str:
    """Why checkpoints ``a`` and ``b`` do not compare, in one line; "" when they do."""
    ma, mb = _meta(a), _meta(b)
    if ma is None or mb is None:
        return f"{Path(a if ma is None else b).name} cannot be read (or is a folder, checked once loaded)"
    if Path(a).resolve() == Path(b).resolve():
        return "A and B are the same checkpoint"
    try:
        check_comparable(a, b)  # modality and tokenizer, from the headers: no model is built for another modality
        da, db = describe(a), describe(b)
        if da is None or db is None:
            return f"{Path(a if da is None else b).name}: its kind cannot be built"
        comparable_steps(da[1], db[1], names=(Path(a).stem, Path(b).stem))
    except Exception as e:
        return str(e)
    return ""


def compares(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when checkpoints ``a`` and ``b`` are different files whose models compare."""
    return not why_not(a, b)


def partners(a: str | os.PathLike, candidates: list[str]) -> list[str]:
    """The candidates that compare with ``a`` (never ``a`` itself), best first: trained on the same data
    set, then of the same kind, then in the order given."""
    meta_a = _meta(a)
    if meta_a is None:
        return []

    def rank(path: str) -> tuple[int, int]:
        meta = _meta(path)
        assert meta is not None  # (it compares)
        return (meta.data.get("name") != meta_a.data.get("name"), meta.kind != meta_a.kind)

    found = [c for c in candidates if compares(a, c)]
    return sorted(found, key=rank)  # stable: the given order breaks ties


def what_it_generates(path: str | os.PathLike) -> str:
    """``image, 8 levels, 1×28×28``: what a B must match, in a few words ("" when unknown)."""
    d = describe(path)
    if d is None:
        return ""
    spec = d[1].spec
    v, shape, tok = spec.values, tuple(spec.layout.shape), spec.config.get("tokenizer")
    if tok is not None:
        values = describe_tokenizer(tok, spec.config.get("vocab_size"))
    else:
        values = (f"{v.n} levels" if v.kind == "categorical" else "binary values" if v.kind == "binary"
                  else f"real values in [{v.low:g}, {v.high:g}]")
    where = f"{shape[0]} steps" if len(shape) == 1 else "×".join(str(n) for n in shape)
    return f"{spec.layout.modality}, {values}, {where}"
