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

from arstudio.core import files, registry, validate
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
        """Parse the header JSON; raise CheckpointError when it is not ours or has the wrong shape."""
        d = validate.loads(text, "its arstudio metadata", cls=CheckpointError, sep=" ")
        if not isinstance(d, dict) or "kind" not in d or "config" not in d:
            raise CheckpointError("its arstudio metadata lacks 'kind' or 'config'")
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        problem = _meta_problem(known)
        if problem:
            raise CheckpointError(f"its arstudio metadata is malformed: {problem}")
        return cls(**known)


def _meta_problem(d: dict[str, Any]) -> str | None:
    """What is wrong with the shape of parsed metadata (a dict where a string belongs ...), or None."""
    if not isinstance(d["kind"], str) or not d["kind"] or len(d["kind"]) > 200:
        return f"'kind' must be a model kind's name, got {type(d['kind']).__name__}"
    for key in ("config", "data", "metrics", "history", "extra"):
        if key in d and not isinstance(d[key], dict):
            return f"'{key}' must be a JSON object, got {type(d[key]).__name__}"
    if "recipe" in d and not isinstance(d["recipe"], str):
        return f"'recipe' must be a string, got {type(d['recipe']).__name__}"
    if "version" in d and not (validate.is_int(d["version"]) and d["version"] >= 1):
        return f"'version' must be a whole number >= 1, got {d['version']!r}"[:200]
    bad = next((k for k, v in d.get("metrics", {}).items() if not validate.is_number(v)), None)
    if bad is not None:
        return f"metric {bad!r} is not a number"
    bad = next((k for k, v in d.get("history", {}).items()
                if not isinstance(v, list) or not all(validate.is_number(x) for x in v)), None)
    if bad is not None:
        return f"history {bad!r} is not a list of numbers"
    typed = [("data", "name", str), ("data", "split", dict), ("extra", "modality", str), ("extra", "format", str),
             ("extra", "train", dict), ("extra", "train_state", dict), ("extra", "parameters", int)]
    for group, key, tp in typed:
        v = d.get(group, {}).get(key)
        if v is not None and (not isinstance(v, tp) or isinstance(v, bool)):
            return f"'{group}.{key}' must be a {tp.__name__ if tp is not dict else 'JSON object'}, got {type(v).__name__}"
    split = d.get("data", {}).get("split", {})
    bad = next((k for k, v in split.items() if not isinstance(v, list) or not all(validate.is_int(i) for i in v)), None)
    if bad is not None:
        return f"'data.split.{bad}' must be a list of whole numbers"[:200]
    extra = d.get("extra", {})
    for group, keys in _TRAIN_NUMBERS.items():
        for key, integer in keys:
            v = extra.get(group, {}).get(key)
            if v is not None and not (validate.is_int(v) if integer else validate.is_number(v)):
                return f"'extra.{group}.{key}' must be a {'whole number' if integer else 'number'}, got {v!r}"[:200]
    return None


_TRAIN_NUMBERS = {"train_state": (("step", True), ("steps", True)),
                  "train": (("steps", True), ("batch_size", True), ("seed", True), ("eval_every", True),
                            ("lr", False))}


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

    Raises CheckpointError with a plain reason for missing, special (a FIFO, a folder, a device),
    unreadable, empty, truncated, pickled or foreign files, and for malformed tensor entries.
    """
    p = Path(path)
    if p.is_dir():
        raise CheckpointError(f"{p}: is a folder, not a .safetensors file")
    try:
        with files.open_regular(p, "checkpoint", files.LIMITS["checkpoint"]) as f:
            size = os.fstat(f.fileno()).st_size
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
                raise CheckpointError(f"{p}: is not a safetensors file, or is truncated (header length {n}, "
                                      f"file {size} bytes)")
            f.seek(8)
            raw = f.read(n)
    except files.InputFileError as e:
        raise CheckpointError(str(e)) from None
    except OSError as e:
        raise CheckpointError(files.describe_os_error(p, e)) from None
    try:
        header = validate.loads(raw.decode("utf-8"), "header", cls=CheckpointError)
    except (UnicodeDecodeError, CheckpointError):
        raise CheckpointError(f"{p}: its safetensors header is not valid JSON (corrupt file)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{p}: its safetensors header is not a JSON object (corrupt file)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{p}: its safetensors metadata is not a map of strings (corrupt file)")
    data_len = size - 8 - n
    for name, entry in header.items():
        problem = validate.tensor_entry_problem(name, entry, data_len)
        if problem:
            raise CheckpointError(f"{p}: {problem} (corrupt file)")
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
    planned = _build(kind, meta.config, path, "meta")  # no memory: shapes and dtypes only
    problems = [] if planned is None else _tensor_problems(header, planned.state_dict(), meta.kind)
    del planned
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CheckpointError(f"{path}: tensors do not match its {meta.kind} config: " + "; ".join(problems[:3]) + more)
    model = _build(kind, meta.config, path, None)
    try:
        tensors = load_file(str(path), device=str(device))
    except Exception as e:  # safetensors raises its own error types for corrupt data
        raise CheckpointError(f"{path}: could not read its tensors ({e})") from None
    bad = next((k for k, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())), None)
    if bad is not None:
        raise CheckpointError(f"{path}: tensor {bad!r} holds NaN or infinite values; the checkpoint is broken "
                              "(training diverged?)")
    model.load_state_dict(tensors)
    model.to(device).eval()
    if hasattr(model, "after_load"):
        model.after_load(meta)
    return model, meta


_BUILD_ERRORS = (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError)


def _build(kind: registry.ModelKind, config: dict[str, Any], path: str | os.PathLike, device: str | None) -> Any:
    """The model ``config`` describes (on the meta device: shapes without memory); CheckpointError if invalid.

    A model whose constructor cannot run on the meta device gives None there (it is checked when built).
    """
    try:
        if device is None:
            return kind.build(config)
        with torch.device(device):
            return kind.build(config)
    except (RuntimeError, NotImplementedError) as e:
        if device is not None:
            return None
        why = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise CheckpointError(f"{path}: its {kind.name} config cannot be built ({why})") from None
    except _BUILD_ERRORS as e:
        raise CheckpointError(f"{path}: its {kind.name} config is invalid ({e})") from None


def _tensor_problems(header: dict[str, Any], expected: dict[str, torch.Tensor], kind: str) -> list[str]:
    """Where the file's tensors differ from the model's: missing, unexpected, shape, or a non-float dtype
    (BOOL, I8, U8, I64 ...) where the model keeps float weights."""
    problems = [f"missing {k}" for k in expected if k not in header]
    problems += [f"unexpected {k}" for k in header if k not in expected]
    for k, t in expected.items():
        if k not in header:
            continue
        found = tuple(header[k]["shape"])
        if found != tuple(t.shape):
            problems.append(f"{k} has shape {list(found)}, the config needs {list(t.shape)}")
        elif t.is_floating_point() and header[k]["dtype"] not in validate.FLOAT_DTYPES:
            problems.append(f"{k} is stored as {header[k]['dtype']}, but {kind} weights are floats")
    return problems


def save_checkpoint(path: str | os.PathLike, model: ARModel, meta: CheckpointMeta) -> Path:
    """Write a checkpoint atomically (temp file in the same folder, then rename)."""
    p = Path(path)
    if p.suffix != ".safetensors":
        raise CheckpointError(f"{p}: checkpoints are .safetensors files")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    bad = next((k for k, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())), None)
    if bad is not None:
        raise CheckpointError(f"{p}: not written: tensor {bad!r} holds NaN or infinite values (training diverged?)")
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
    names = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    try:
        for f in names:
            if p.is_dir():
                h.update(str(f.relative_to(p)).encode() + b"\0")
            with files.open_regular(f, "checkpoint") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    except files.InputFileError as e:
        raise CheckpointError(str(e)) from None
    except OSError as e:
        raise CheckpointError(files.describe_os_error(p, e)) from None
    return h.hexdigest()
