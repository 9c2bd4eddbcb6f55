"""Text data sets: a corpus cut into chunks with a fixed held-out split, as windows of T token ids.

The default corpus is the Python documentation text that ships with CPython
(``pydoc_data.topics``: 79 topics, ~465,000 characters). The topics are joined in sorted order and
cut into contiguous chunks of ``CHUNK`` characters; a seeded permutation of the chunk indices picks
the valid and test chunks, and those indices are what a checkpoint records. Each split's chunks,
joined in order, are tokenized and cut into windows [N, T]: with a stride of T / 4 for training,
without overlap for valid and test (each held-out token is scored once).

Registered sets: ``pydoc`` (byte-level BPE with 1,024 ids, trained on the train chunks only; for
the GPT) and ``pydoc-chars`` (one id per character, for the character RNN). Metrics in bits per
token and per character come from ``evaluate_text``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from arstudio.core.protocol import ARModel
from arstudio.core.spec import Layout, ValueSpace
from arstudio.data.datasets import Dataset, fixed_split, register_dataset
from arstudio.data.tokenizers import BPETokenizer, CharTokenizer, Tokenizer

CHUNK = 2048  # characters per split unit
SEQ_LEN = 256  # tokens per window of the registered sets
HELD_OUT = 0.05  # fraction of chunks in valid, and again in test


@dataclass
class TextDataset(Dataset):
    """Windows of token ids [N, T] with the tokenizer that made them and the characters they cover."""

    tokenizer: Tokenizer | None = None
    chars: dict[str, int] = field(default_factory=dict)  # characters covered by each split's windows
    chunk_size: int = CHUNK

    def model_config(self) -> dict[str, Any]:
        """What a text model takes from its data: vocabulary size, window length and the tokenizer."""
        assert self.tokenizer is not None
        return {"vocab_size": self.tokenizer.vocab_size, "block_size": int(self.layout.shape[0]),
                "tokenizer": self.tokenizer.to_config()}

    def recorded_split(self, split: str, indices: list[int] | None) -> tuple[torch.Tensor, torch.Tensor | None, str]:
        """Windows of ``split`` when a checkpoint's recorded chunk indices are today's; else a clear error."""
        if indices is None:
            return getattr(self, split), None, " (the checkpoint records no split: the data set's own)"
        if list(indices) == list(self.split.get(split, [])):
            return getattr(self, split), None, ""
        raise ValueError(f"the checkpoint's {split} chunks differ from today's {self.name} split (text sets record "
                         f"chunks of {self.chunk_size} characters); evaluate it on a text file instead")

    def meta(self) -> dict[str, Any]:
        return {**super().meta(), "unit": "chunks", "chunk_size": self.chunk_size, "chars": dict(self.chars),
                "tokens": {k: int(getattr(self, k).numel()) for k in ("train", "valid", "test")}}


def pydoc_text() -> str:
    """CPython's documentation topics joined in sorted order, separated by blank lines."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k].strip("\n") for k in sorted(topics))


def split_chunks(text: str, chunk: int = CHUNK, held_out: float = HELD_OUT, seed: int = 0
                 ) -> tuple[dict[str, list[int]], dict[str, str]]:
    """Chunk indices per split, and each split's text (its chunks joined in order)."""
    n = math.ceil(len(text) / chunk)
    k = max(1, round(n * held_out))
    if n < 2 * k + 1:
        raise ValueError(f"a text of {len(text)} characters is too short to split into train / valid / test "
                         f"chunks of {chunk} characters")
    split = fixed_split(n, k, k, seed=seed)
    parts = {name: "".join(text[i * chunk:(i + 1) * chunk] for i in idx) for name, idx in split.items()}
    return split, parts


def windows(ids: list[int], offsets: list[tuple[int, int]], seq_len: int, stride: int) -> tuple[torch.Tensor, int]:
    """Windows [N, seq_len] of ``ids`` every ``stride`` tokens, and the characters they cover."""
    if len(ids) < seq_len:
        raise ValueError(f"a split of {len(ids)} tokens is shorter than one window of {seq_len}")
    starts = list(range(0, len(ids) - seq_len + 1, stride))
    x = torch.as_tensor(ids, dtype=torch.long)
    out = torch.stack([x[s:s + seq_len] for s in starts])  # (N, T)
    if stride >= seq_len:  # disjoint windows: count the characters each one spans
        chars = sum(offsets[s + seq_len - 1][1] - offsets[s][0] for s in starts)
    else:
        chars = offsets[starts[-1] + seq_len - 1][1] - offsets[0][0]
    return out, int(chars)


def text_dataset(name: str, text: str, tokenizer: Tokenizer | str = "char", seq_len: int = SEQ_LEN,
                 description: str = "", bpe_vocab: int = 1024, chunk: int = CHUNK) -> TextDataset:
    """A ``TextDataset`` of any text: split by chunks, tokenized (a tokenizer, or "char" / "bpe" to learn one)."""
    split, parts = split_chunks(text, chunk)
    if tokenizer == "char":
        tokenizer = CharTokenizer.from_text(parts["train"])
    elif tokenizer == "bpe":
        tokenizer = BPETokenizer.train([parts["train"][i:i + 10_000] for i in range(0, len(parts["train"]), 10_000)],
                                       vocab_size=bpe_vocab)
    assert isinstance(tokenizer, Tokenizer)
    tensors, chars = {}, {}
    for k, part in parts.items():
        ids, offsets = tokenizer.encode_with_offsets(part)
        tensors[k], chars[k] = windows(ids, offsets, seq_len, max(1, seq_len // 4) if k == "train" else seq_len)
    values = ValueSpace("categorical", tokenizer.vocab_size)
    return TextDataset(name, description or f"{name}: {len(text):,} characters, {tokenizer.kind} tokens",
                       Layout("text", (seq_len,)), values, tensors["train"], tensors["valid"], tensors["test"],
                       split, tokenizer=tokenizer, chars=chars, chunk_size=chunk)


@register_dataset("pydoc", modality="text")
def pydoc_bpe() -> TextDataset:
    """CPython's documentation text in byte-level BPE tokens (1,024 ids, learned on the train chunks)."""
    return text_dataset("pydoc", pydoc_text(), "bpe", description="Python documentation text (pydoc_data), "
                        "byte-level BPE with 1,024 ids, windows of 256 tokens")


@register_dataset("pydoc-chars", modality="text")
def pydoc_chars() -> TextDataset:
    """CPython's documentation text as characters (with an unknown-character id)."""
    return text_dataset("pydoc-chars", pydoc_text(), "char", description="Python documentation text (pydoc_data), "
                        "characters, windows of 256")


@torch.no_grad()
def evaluate_text(model: ARModel, data: TextDataset, split: str = "test", batch_size: int = 64) -> dict[str, float]:
    """Held-out NLL of a split in nats per window, bits per token and bits per character.

    Bits per character divide the total by the characters the windows span (for BPE, the
    characters of the text the tokens came from), so models with different tokenizers compare.
    """
    x = getattr(data, split)
    was_training = model.training
    model.eval()
    total = 0.0
    for i in range(0, len(x), batch_size):
        total += float(model.eval_nll(x[i:i + batch_size].to(model.device)).double().sum())
    model.train(was_training)
    bits = total / math.log(2)
    return {"nats": total / len(x), "bits_per_token": bits / x.numel(), "bits_per_char": bits / data.chars[split],
            "tokens": int(x.numel()), "chars": int(data.chars[split])}


class PromptError(ValueError):
    """A prompt that a text model cannot take; the message says why in one line."""


def encode_prompt(tokenizer: Tokenizer, text: str, context: int, new_tokens: int = 0) -> list[int]:
    """Token ids of a prompt, checked: known characters only, and room for ``new_tokens`` more.

    An empty prompt is fine (the models start from their BOS token).
    """
    if isinstance(tokenizer, CharTokenizer):
        unknown = tokenizer.unknown(text)
        if unknown:
            shown = " ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise PromptError(f"the prompt has {len(unknown)} character(s) outside this model's vocabulary: {shown}")
    ids = tokenizer.encode(text)
    if len(ids) + new_tokens > context:
        raise PromptError(f"the prompt is {len(ids)} tokens; with {new_tokens} new tokens that is longer than this "
                          f"model's context of {context} tokens")
    return ids


@torch.no_grad()
def score_text(model: ARModel, tokenizer: Tokenizer, text: str) -> dict[str, Any]:
    """Per-token log-probabilities of ``text`` (teacher forcing) and bits per token, character and byte.

    Text longer than the context is scored in consecutive windows of ``layout.length`` tokens, each
    starting afresh from BOS. ``log_probs`` are in nats, one per token of ``ids``.
    """
    ids = tokenizer.encode(text)
    if not ids:
        raise PromptError("there is no text to score")
    n = model.layout.length
    was_training = model.training
    model.eval()
    x = torch.as_tensor(ids, dtype=torch.long, device=model.device)
    lps = torch.cat([model.log_prob(x[None, i:i + n])[0] for i in range(0, len(ids), n)])
    model.train(was_training)
    bits = -float(lps.double().sum()) / math.log(2)
    return {"ids": ids, "tokens": [tokenizer.token_str(i) for i in ids], "log_probs": lps.cpu().numpy(),
            "bits_per_token": bits / len(ids), "bits_per_char": bits / len(text),
            "bits_per_byte": bits / len(text.encode("utf-8")), "windows": math.ceil(len(ids) / n)}
