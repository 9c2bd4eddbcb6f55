"""Checkpoints: one ``.safetensors`` file per model, JSON metadata in its header, never unpickled.

The header's ``arstudio`` entry holds JSON: kind, config, data set and split, held-out metrics,
training history, the recipe command that made it, and the format version. Loading checks that
the file is a safetensors file at all (and says so plainly when it is a pickle), that it is ours,
that the kind is known, and that every tensor has the shape the config implies.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from arstudio.core import registry
from arstudio.core.atomic import atomic_replace
from arstudio.core.protocol import ARModel

FORMAT_VERSION = 1
META_KEY = "arstudio"
_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(Exception):
    """A checkpoint that cannot be loaded or saved; the message says why in one line."""


@dataclass
class CheckpointMeta:
    """What a checkpoint says about itself, besides its tensors."""

    kind: str
    config: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)  # name, split indices, sizes
    metrics: dict[str, float] = field(default_factory=dict)  # held-out nats / bits per dim
    history: dict[str, list[float]] = field(default_factory=dict)  # training curves
    recipe: str = ""  # the command that made it
    version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def modality(self) -> str:
        """The modality the file records (its kind's, for files that do not say); "?" when neither is known."""
        if isinstance(self.extra.get("modality"), str) and self.extra["modality"]:
            return str(self.extra["modality"])
        try:
            return registry.get(self.kind).modality
        except registry.UnknownKindError:
            return "?"

    def to_json(self) -> str:
        """The JSON string stored in the header."""
        return json.dumps(self.__dict__, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "CheckpointMeta":
        """Parse the header JSON; raise CheckpointError when it is not ours."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise CheckpointError(f"its arstudio metadata is not valid JSON ({e.msg})") from None
        if not isinstance(d, dict) or "kind" not in d or "config" not in d:
            raise CheckpointError("its arstudio metadata lacks 'kind' or 'config'")
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def _is_pickle(head: bytes) -> str | None:
    """What kind of pickle ``head`` (a file's first 9 bytes) starts, or None.

    A safetensors file starts with its header length (8 bytes, little-endian) and then ``{``; its
    first byte may be 0x80 like a pickle's protocol marker, so that alone proves nothing.
    """
    if head[8:9] == b"{":
        return None
    if head[:2] == b"PK":
        return "a zip archive (a PyTorch .pt/.pth pickle, most likely)"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] in range(2, 6):
        return "a Python pickle"
    return None


def read_header(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse a safetensors header without loading tensors: (tensor entries, metadata).

    Raises CheckpointError with a plain reason for missing, empty, truncated, pickled or foreign
    files.
    """
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such file")
    if p.is_dir():
        raise CheckpointError(f"{p}: is a folder, not a .safetensors file")
    size = p.stat().st_size
    with p.open("rb") as f:
        head = f.read(9)
        kind = _is_pickle(head)
        if kind:
            raise CheckpointError(
                f"{p}: is {kind}; arstudio never unpickles files, because unpickling can run "
                "arbitrary code. Save the weights with safetensors instead.")
        if len(head) < 8:
            raise CheckpointError(f"{p}: is empty or truncated ({size} bytes), not a safetensors file")
        (n,) = struct.unpack("<Q", head[:8])
        if n == 0 or n > _MAX_HEADER or 8 + n > size:
            raise CheckpointError(f"{p}: is not a safetensors file, or is truncated (header length {n}, file {size} bytes)")
        f.seek(8)
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{p}: its safetensors header is not valid JSON (corrupt file)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{p}: its safetensors header is not a JSON object (corrupt file)")
    meta = header.pop("__metadata__", None) or {}
    data_len = size - 8 - n
    for name, entry in header.items():
        try:
            start, end = entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise CheckpointError(f"{p}: tensor {name!r} has no valid data offsets (corrupt file)") from None
        if not 0 <= start <= end <= data_len:
            raise CheckpointError(f"{p}: tensor {name!r} lies past the end of the file (truncated: "
                                  f"needs {end} data bytes, has {data_len})")
    return header, meta


def read_meta(path: str | os.PathLike) -> CheckpointMeta:
    """The arstudio metadata of a checkpoint, without loading its tensors."""
    _, meta = read_header(path)
    if META_KEY not in meta:
        raise CheckpointError(f"{path}: is a safetensors file but not an arstudio checkpoint (no '{META_KEY}' "
                              f"metadata; it has {len(_)} tensors)")
    try:
        return CheckpointMeta.from_json(meta[META_KEY])
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[ARModel, CheckpointMeta]:
    """Build the model a checkpoint describes and load its weights, checking every shape."""
    header, _ = read_header(path)
    meta = read_meta(path)
    if meta.version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: was written by a newer arstudio (format {meta.version}, this one reads "
                              f"{FORMAT_VERSION})")
    try:
        kind = registry.get(meta.kind)
    except registry.UnknownKindError as e:
        raise CheckpointError(f"{path}: {e}") from None
    recorded = meta.extra.get("modality")
    if recorded is not None and recorded != kind.modality:
        raise CheckpointError(f"{path}: records the modality {recorded!r}, but {meta.kind} models are {kind.modality!r}")
    try:
        model = kind.build(meta.config)
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path}: its {meta.kind} config is invalid ({e})") from None
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v["shape"]) for k, v in header.items()}
    problems = [f"missing {k}" for k in expected if k not in found]
    problems += [f"unexpected {k}" for k in found if k not in expected]
    problems += [f"{k} has shape {list(found[k])}, the config needs {list(s)}"
                 for k, s in expected.items() if k in found and found[k] != s]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CheckpointError(f"{path}: tensors do not match its {meta.kind} config: " + "; ".join(problems[:3]) + more)
    try:
        tensors = load_file(str(path), device=str(device))
    except Exception as e:  # safetensors raises its own error types for corrupt data
        raise CheckpointError(f"{path}: could not read its tensors ({e})") from None
    model.load_state_dict(tensors)
    model.to(device).eval()
    if hasattr(model, "after_load"):
        model.after_load(meta)
    return model, meta


def save_checkpoint(path: str | os.PathLike, model: ARModel, meta: CheckpointMeta) -> Path:
    """Write a checkpoint atomically (temp file in the same folder, then rename)."""
    p = Path(path)
    if p.suffix != ".safetensors":
        raise CheckpointError(f"{p}: checkpoints are .safetensors files")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # the modality is the kind's (its layout says it); the file records it for readers without the kind
    meta = replace(meta, extra={**meta.extra, "modality": model.spec.layout.modality})
    blob = save(tensors, metadata={META_KEY: meta.to_json()})
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_replace(p, lambda f: f.write(blob))
    except OSError as e:
        raise CheckpointError(f"{p}: could not be written ({e.strerror or e})") from None
    return p


def file_hash(path: str | os.PathLike) -> str:
    """SHA-256 of a file, hex (identifies a checkpoint in exports).

    A folder (a GPT-2 checkpoint in the Hugging Face layout) hashes the names and contents of its
    files, in name order.
    """
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
