"""Tokenizers for text models: plain characters, and byte-level BPE (Sennrich et al. 2016; GPT-2).

A tokenizer turns text into ids and back, names each id for display, and describes itself as a
small JSON-able dict (``to_config``) that a checkpoint stores in its model config, so that a
checkpoint is self-contained: ``tokenizer_from_config(model.spec.config["tokenizer"])``.

- ``CharTokenizer``: one id per character seen in the corpus, plus id 0 for any unknown character
  (Karpathy's char-rnn vocabulary, with an explicit unknown).
- ``BPETokenizer``: Hugging Face ``tokenizers``' byte-level BPE (Radford et al. 2019, Sec. 2.2),
  trained on a corpus, or read from GPT-2's ``vocab.json`` + ``merges.txt`` or ``tokenizer.json``.
  Its config holds the whole ``tokenizer.json`` string.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

UNK = "\ufffd"  # shown for characters outside the vocabulary
EOT = "<|endoftext|>"  # GPT-2's document separator, our BPE's one special token


class TokenizerError(ValueError):
    """A tokenizer that cannot be built or read; the message says why in one line."""


class Tokenizer:
    """Text <-> ids; subclasses are ``CharTokenizer`` and ``BPETokenizer``."""

    kind: str = ""

    @property
    def vocab_size(self) -> int:
        """Number of ids."""
        raise NotImplementedError

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""
        raise NotImplementedError

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids and the (start, end) character span of each token in ``text``."""
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        """Text of a sequence of ids."""
        raise NotImplementedError

    def token_str(self, i: int) -> str:
        """Display label of one id (what a hover or a distribution bar shows)."""
        raise NotImplementedError

    def labels(self) -> tuple[str, ...]:
        """Display labels of every id."""
        return tuple(self.token_str(i) for i in range(self.vocab_size))

    def to_config(self) -> dict[str, Any]:
        """JSON-able description that ``tokenizer_from_config`` rebuilds this tokenizer from."""
        raise NotImplementedError


class CharTokenizer(Tokenizer):
    """One id per character; id 0 is the unknown character (anything not in the vocabulary)."""

    kind = "char"

    def __init__(self, chars: Sequence[str] | str) -> None:
        chars = [c for c in chars if c != UNK]
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise TokenizerError("a character vocabulary needs distinct single characters")
        self.chars = [UNK, *chars]
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        """The vocabulary of every distinct character in ``text``, sorted by code point."""
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.index.get(c, 0) for c in text]

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        return self.encode(text), [(i, i + 1) for i in range(len(text))]

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` outside the vocabulary (each would become id 0)."""
        return sorted({c for c in text if c not in self.index or c == UNK})

    def decode(self, ids: Iterable[int]) -> str:
        n = len(self.chars)
        return "".join(self.chars[i] if 0 <= i < n else UNK for i in (int(j) for j in ids))

    def token_str(self, i: int) -> str:
        return self.chars[i] if 0 <= i < len(self.chars) else UNK

    def to_config(self) -> dict[str, Any]:
        return {"type": "char", "chars": "".join(self.chars[1:])}


class BPETokenizer(Tokenizer):
    """Byte-level BPE through Hugging Face ``tokenizers`` (GPT-2's scheme)."""

    kind = "bpe"

    def __init__(self, tok: Any) -> None:
        self.tok = tok
        self._labels: tuple[str, ...] | None = None
        self._bytes: list[bytes | None] | bool | None = None  # False: not byte-level

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 1024, min_frequency: int = 2) -> "BPETokenizer":
        """Learn merges on ``texts`` until the vocabulary (256 bytes + merges + EOT) has ``vocab_size`` ids."""
        from tokenizers import ByteLevelBPETokenizer

        bpe = ByteLevelBPETokenizer()
        bpe.train_from_iterator(list(texts), vocab_size=vocab_size, min_frequency=min_frequency,
                                show_progress=False, special_tokens=[EOT])
        return cls._from_json(bpe.to_str())

    @classmethod
    def _from_json(cls, text: str) -> "BPETokenizer":
        from tokenizers import Tokenizer as HFTokenizer

        try:
            return cls(HFTokenizer.from_str(text))
        except Exception as e:  # tokenizers raises a bare Exception for malformed JSON
            raise TokenizerError(f"not a valid tokenizer.json ({str(e).splitlines()[0][:200]})") from None

    @classmethod
    def from_files(cls, folder: str | os.PathLike) -> "BPETokenizer":
        """GPT-2's tokenizer files in ``folder``: ``tokenizer.json``, else ``vocab.json`` + ``merges.txt``."""
        d = Path(folder)
        if (d / "tokenizer.json").is_file():
            return cls._from_json((d / "tokenizer.json").read_text(encoding="utf-8"))
        vocab, merges = d / "vocab.json", d / "merges.txt"
        missing = [p.name for p in (vocab, merges) if not p.is_file()]
        if missing:
            raise TokenizerError(f"{d}: no tokenizer.json, and no {' or '.join(missing)} (a GPT-2 tokenizer needs "
                                 "tokenizer.json, or vocab.json with merges.txt)")
        from tokenizers import ByteLevelBPETokenizer

        try:
            json.loads(vocab.read_text(encoding="utf-8"))
            bpe = ByteLevelBPETokenizer(str(vocab), str(merges))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TokenizerError(f"{vocab}: is not a JSON vocabulary") from None
        except Exception as e:
            raise TokenizerError(f"{d}: vocab.json / merges.txt could not be read ({str(e).splitlines()[0][:200]})"
                                 ) from None
        return cls._from_json(bpe.to_str())

    @property
    def vocab_size(self) -> int:
        return int(self.tok.get_vocab_size(with_added_tokens=True))

    def token_id(self, token: str) -> int | None:
        """Id of a token string (e.g. ``<|endoftext|>``), or None."""
        return self.tok.token_to_id(token)

    def encode(self, text: str) -> list[int]:
        return list(self.tok.encode(text).ids)

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tok.encode(text)
        return list(enc.ids), [tuple(o) for o in enc.offsets]

    def decode(self, ids: Iterable[int]) -> str:
        return self.tok.decode([int(i) for i in ids], skip_special_tokens=False)

    def token_str(self, i: int) -> str:
        return self.labels()[i] if 0 <= i < self.vocab_size else UNK

    def labels(self) -> tuple[str, ...]:
        """Each id as text; a byte token that is no whole character by its escapes ("\\xe2\\x80"), never "\ufffd"."""
        if self._labels is None:
            raw = self.token_bytes()
            self._labels = tuple(
                b.decode("utf-8", errors="backslashreplace") if raw is not None and (b := raw[i]) is not None
                else self.tok.decode([i], skip_special_tokens=False) for i in range(self.vocab_size))
        return self._labels

    def token_bytes(self) -> list[bytes | None] | None:
        """Each id's bytes (None for an added token such as EOT), or None when the BPE is not byte-level.

        Byte-level BPE (Radford et al. 2019, Sec. 2.2) writes each byte as one printable character;
        a token is a run of them, so one UTF-8 character ("…") may span several tokens.
        """
        if self._bytes is None:
            from tokenizers import decoders

            if not isinstance(self.tok.decoder, decoders.ByteLevel):
                self._bytes = False
            else:
                added = set(self.tok.get_added_tokens_decoder())
                table = _byte_of_char()
                out: list[bytes | None] = []
                for i in range(self.vocab_size):
                    s = self.tok.id_to_token(i)
                    ok = i not in added and s is not None and all(c in table for c in s)
                    out.append(bytes(table[c] for c in s) if ok else None)
                self._bytes = out
        return self._bytes or None

    def to_config(self) -> dict[str, Any]:
        return {"type": "bpe", "json": self.tok.to_str()}


def _byte_of_char() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed: the printable character that stands for each byte."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(kept), 0
    for b in range(256):
        if b not in kept:
            kept.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(kept, chars)}


def tokenizer_from_config(config: dict[str, Any] | None) -> Tokenizer:
    """Rebuild a tokenizer from the dict a checkpoint stores (``Tokenizer.to_config``)."""
    if not isinstance(config, dict) or "type" not in config:
        raise TokenizerError("this model records no tokenizer (its config has no 'tokenizer' entry)")
    if config["type"] == "char":
        return CharTokenizer(str(config.get("chars", "")))
    if config["type"] == "bpe":
        return BPETokenizer._from_json(str(config.get("json", "")))
    raise TokenizerError(f"unknown tokenizer type {config['type']!r} (known: char, bpe)")
