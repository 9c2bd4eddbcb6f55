"""Text export and text checkpoints: a run's text with per-token log-probabilities (JSON) or plain text.

The JSON holds the whole text, the prompt, and one entry per token (id, text, log p in nats,
whether it was given: prompt or forced), plus how it was made. Both formats are written
atomically (``arstudio.io.atomic.atomic_write``), so a failed export leaves nothing half-written.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arstudio.core import files, validate
from arstudio.core.spec import ModelSpec
from arstudio.io.atomic import atomic_write
from arstudio.io.errors import ExportError
from arstudio.core.modality import RunDetail

FORMAT = "arstudio-text/1"


@dataclass
class TokenRecord:
    """One token of an exported text."""

    id: int
    text: str
    log_prob: float  # nats; NaN when unknown
    given: bool = False  # part of the prompt, or forced by a click


@dataclass
class TextExport:
    """A generated (or scored) text with its tokens and how it was made."""

    text: str
    tokens: list[TokenRecord]
    prompt: str = ""
    info: dict[str, Any] = field(default_factory=dict)  # checkpoint, seed, policy ...

    @property
    def log_prob(self) -> float:
        """Sum of the tokens' log-probabilities in nats (over the known ones)."""
        return float(sum(t.log_prob for t in self.tokens if not math.isnan(t.log_prob)))

    def to_json(self) -> str:
        """The JSON document (NaN written as null)."""
        toks = [{**asdict(t), "log_prob": None if math.isnan(t.log_prob) else t.log_prob} for t in self.tokens]
        doc = {"format": FORMAT, "text": self.text, "prompt": self.prompt, "log_prob": self.log_prob,
               "tokens": toks, "info": self.info}
        return json.dumps(doc, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "TextExport":
        """Parse a document written by ``to_json``; ValueError when it is not one."""
        try:
            doc = validate.loads(text, "its JSON", sep=" ")
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise ValueError("not an arstudio text export")
            toks = [TokenRecord(int(t["id"]), str(t["text"]),
                                float("nan") if t["log_prob"] is None else float(t["log_prob"]),
                                bool(t.get("given", False))) for t in doc["tokens"]]
            return cls(str(doc["text"]), toks, str(doc.get("prompt", "")), dict(doc.get("info", {})))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ValueError(f"not an arstudio text export ({e})") from None


def write_text_json(path: str | os.PathLike, export: TextExport) -> Path:
    """Write ``export`` as JSON, atomically."""
    blob = export.to_json().encode("utf-8")
    return atomic_write(path, lambda f: f.write(blob))


def read_text_json(path: str | os.PathLike) -> TextExport:
    """Read a JSON text export."""
    return TextExport.from_json(files.read_text(path, "recipe"))  # a regular file of bounded size


def write_plain_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8, atomically."""
    blob = text.encode("utf-8")
    return atomic_write(path, lambda f: f.write(blob))


def write_text(path: str | os.PathLike, export: TextExport) -> Path:
    """Write JSON for a ``.json`` path, else the plain text."""
    if Path(path).suffix.lower() == ".json":
        return write_text_json(path, export)
    if Path(path).suffix.lower() not in (".txt", ".text", ".md", ""):
        raise ExportError(f"{path}: text is written as .txt (plain) or .json (with per-token log-probabilities)")
    return write_plain_text(path, export.text)


def text_export_of_run(tok: Any, ids: list[int], log_prob: np.ndarray | None, given: np.ndarray | None,
                       prefix_len: int, info: dict[str, str]) -> TextExport:
    """The export of one run's tokens: the CLI's ``sample``, the studio's Export and ``replay`` all build it here.

    ``log_prob`` [T] nats (None: unknown), ``given`` [T] kept or forced, ``prefix_len`` the kept
    steps (the prompt, shown as such); ``tok`` decodes ids (None: ids joined by spaces).
    """
    decode = tok.decode if tok is not None else (lambda v: " ".join(map(str, v)))
    label = tok.token_str if tok is not None else str
    lp = np.full(len(ids), np.nan) if log_prob is None else np.asarray(log_prob, dtype=np.float64)
    gv = np.zeros(len(ids), dtype=bool) if given is None else np.asarray(given, dtype=bool)
    toks = [TokenRecord(i, label(i), float(lp[t]), bool(gv[t])) for t, i in enumerate(ids)]
    return TextExport(decode(ids), toks, decode(ids[:prefix_len]), dict(info))


def write_samples(path: Path, spec: ModelSpec, x: np.ndarray, text: dict[str, str], detail: RunDetail | None) -> Path:
    """Samples [B, T] of token ids (NaN: not written) as text: one sample, or JSON of it.

    The sample is the one the recipe ``text`` names (``core.replay.shown_sample``), else the first.

    With ``detail`` the JSON holds each token's log p and whether it was given; ``text`` (the
    replay recipe) goes into the JSON's ``info``, so that ``arstudio replay`` can make it again.
    """
    from arstudio.data.tokenizers import tokenizer_from_config

    cfg = spec.config.get("tokenizer")
    tok = tokenizer_from_config(cfg) if cfg is not None else None
    from arstudio.core.replay import shown_sample

    b = shown_sample(text, len(x))
    row = np.asarray(x, dtype=np.float64).reshape(len(x), -1)[b]
    taken = ~np.isnan(row)
    ids = [int(v) for v in row[taken]]
    if detail is None:
        export = text_export_of_run(tok, ids, None, None, 0, text)
    else:
        lp = np.asarray(detail.log_prob, dtype=np.float64).reshape(len(x), -1)[b][: len(ids)]
        export = text_export_of_run(tok, ids, lp, np.asarray(detail.given)[: len(ids)], detail.prefix_len, text)
    return write_text(path, export)


def read_text_recipe_fields(path: Path) -> dict[str, str]:
    """The replay metadata of a JSON text export (its ``info``); ReplayError when the file is not one."""
    from arstudio.core.replay import ReplayError

    if path.suffix.lower() != ".json":
        raise ReplayError(f"{path}: plain text has no room for replay metadata; export as .json to replay a text")
    try:
        export = read_text_json(path)
    except ValueError as e:
        msg = str(e)
        raise ReplayError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
    return {str(k): v for k, v in export.info.items() if isinstance(v, str)}


def set_token_labels(path: Path, model: Any) -> None:
    """After loading: a text model that records its tokenizer shows its tokens as display labels."""
    from arstudio.core.checkpoint import CheckpointError
    from arstudio.data.tokenizers import TokenizerError, tokenizer_from_config

    tok_config = model.spec.config.get("tokenizer")
    if tok_config is None or not hasattr(model, "set_labels"):
        return
    try:
        tok = tokenizer_from_config(tok_config)
    except TokenizerError as e:
        raise CheckpointError(f"{path}: its tokenizer cannot be read ({e})") from None
    labels = list(tok.labels())[: model.spec.values.n]
    labels += [f"<{i}>" for i in range(len(labels), model.spec.values.n)]
    model.set_labels(labels)
