"""Text data: tokenizers (characters, byte-level BPE, GPT-2's files), the pydoc split, bits per character."""

from __future__ import annotations

import math

import pytest
import torch

from arstudio.data import get_dataset
from arstudio.data.text import TextDataset, evaluate_text, pydoc_text, split_chunks, text_dataset
from arstudio.data.tokenizers import (
    EOT, UNK, BPETokenizer, CharTokenizer, TokenizerError, tokenizer_from_config,
)

LINES = ["def f(x):\n    return x + 1\n", "The quick brown fox jumps over the lazy dog.\n",
         "for i in range(10):\n    print(i)\n", "Python's documentation text, offline.\n"] * 20


def test_char_tokenizer_round_trip_and_unknown() -> None:
    tok = CharTokenizer.from_text("hello world")
    ids = tok.encode("hello")
    assert tok.decode(ids) == "hello"
    assert tok.encode("hé") == [tok.index["h"], 0]  # é is not in the vocabulary: id 0
    assert tok.decode(tok.encode("hé")) == "h" + UNK
    assert tok.unknown("hé!") == ["!", "é"]
    assert tok.vocab_size == len(set("hello world")) + 1
    again = tokenizer_from_config(tok.to_config())
    assert again.encode("world") == tok.encode("world") and again.labels() == tok.labels()


def test_bpe_train_round_trip_and_config() -> None:
    tok = BPETokenizer.train(LINES, vocab_size=300)
    text = "def g(y):\n    return y * 2  # ünïcode ✓\n"
    assert tok.decode(tok.encode(text)) == text  # byte level: any text round-trips
    assert tok.vocab_size <= 300 and tok.token_id("<|endoftext|>") is not None
    assert BPETokenizer.train(LINES, vocab_size=300).to_config() == tok.to_config()  # deterministic
    again = tokenizer_from_config(tok.to_config())
    assert again.encode(text) == tok.encode(text)
    ids, offsets = tok.encode_with_offsets("return x")
    assert len(ids) == len(offsets) and offsets[-1][1] == len("return x")


def test_bpe_reads_gpt2_files(tmp_path) -> None:
    from tokenizers import ByteLevelBPETokenizer

    hf = ByteLevelBPETokenizer()
    hf.train_from_iterator(LINES, vocab_size=280, show_progress=False, special_tokens=["<|endoftext|>"])
    hf.save_model(str(tmp_path))  # vocab.json + merges.txt, as GPT-2 ships them
    text = "print(x + 1)"
    ours = BPETokenizer.from_files(tmp_path)
    assert ours.encode(text) == hf.encode(text).ids
    hf.save(str(tmp_path / "tokenizer.json"))
    assert BPETokenizer.from_files(tmp_path).encode(text) == hf.encode(text).ids


def test_bpe_files_missing_or_broken(tmp_path) -> None:
    with pytest.raises(TokenizerError, match="merges.txt"):
        (tmp_path / "vocab.json").write_text("{}")
        BPETokenizer.from_files(tmp_path)
    (tmp_path / "vocab.json").write_text("not json")
    (tmp_path / "merges.txt").write_text("")
    with pytest.raises(TokenizerError, match="not a JSON vocabulary"):
        BPETokenizer.from_files(tmp_path)
    with pytest.raises(TokenizerError, match="no tokenizer"):
        tokenizer_from_config({})
    with pytest.raises(TokenizerError, match="not a valid tokenizer.json"):
        tokenizer_from_config({"type": "bpe", "json": "{"})


def test_split_chunks_is_fixed_and_disjoint() -> None:
    text = pydoc_text()
    split, parts = split_chunks(text)
    again, _ = split_chunks(text)
    assert split == again
    idx = split["train"] + split["valid"] + split["test"]
    assert sorted(idx) == list(range(len(idx))) and len(split["valid"]) == len(split["test"]) >= 1
    assert sum(len(p) for p in parts.values()) == len(text)


@pytest.mark.parametrize("name", ["pydoc", "pydoc-chars"])
def test_pydoc_sets(name: str) -> None:
    ds = get_dataset(name)
    assert isinstance(ds, TextDataset) and ds.layout.modality == "text"
    n = ds.tokenizer.vocab_size
    for part in (ds.train, ds.valid, ds.test):
        assert part.ndim == 2 and part.shape[1] == ds.layout.length and int(part.max()) < n
    cfg = ds.model_config()
    assert cfg["vocab_size"] == n and tokenizer_from_config(cfg["tokenizer"]).vocab_size == n
    assert ds.meta()["split"]["test"] == get_dataset("pydoc-chars").split["test"]  # the same held-out text
    assert 0.9 < ds.chars["test"] / 20_000 < 1.3


class _Uniform(torch.nn.Module):
    """Stands in for a model: every token costs log V nats."""

    def __init__(self, v: int) -> None:
        super().__init__()
        self.v = v
        self.training = False

    device = torch.device("cpu")

    def eval_nll(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0],), x.shape[1] * math.log(self.v), dtype=torch.float64)


def test_bits_per_char_equals_bits_per_token_for_characters() -> None:
    ds = text_dataset("tiny", pydoc_text()[:60_000], "char", seq_len=32)
    r = evaluate_text(_Uniform(ds.tokenizer.vocab_size), ds, "test")  # type: ignore[arg-type]
    assert r["bits_per_token"] == pytest.approx(math.log2(ds.tokenizer.vocab_size))
    assert r["bits_per_char"] == pytest.approx(r["bits_per_token"])
    bpe = text_dataset("tiny-bpe", pydoc_text()[:60_000], "bpe", seq_len=32, bpe_vocab=400)
    r = evaluate_text(_Uniform(bpe.tokenizer.vocab_size), bpe, "test")  # type: ignore[arg-type]
    assert r["bits_per_char"] == pytest.approx(r["bits_per_token"] * r["tokens"] / r["chars"])
    assert r["chars"] > r["tokens"]  # BPE tokens span several characters


def test_recorded_split_of_text_sets() -> None:
    ds = get_dataset("pydoc-chars")
    x, labels, note = ds.recorded_split("test", ds.split["test"])
    assert torch.equal(x, ds.test) and labels is None and note == ""
    with pytest.raises(ValueError, match="test chunks differ"):
        ds.recorded_split("test", ds.split["test"][:-1])


def test_bpe_labels_name_split_characters_by_their_bytes() -> None:
    tok = BPETokenizer.train(["a … café …", "plain words"] * 5, vocab_size=270, min_frequency=100)
    ids = tok.encode("…é")  # no merges at this frequency: one token per byte
    assert len(ids) == 5
    labels = [tok.token_str(i) for i in ids]
    assert labels == ["\\xe2", "\\x80", "\\xa6", "\\xc3", "\\xa9"]
    assert not any(UNK in lab for lab in tok.labels())
    assert tok.labels()[tok.encode("a")[0]] == "a" and tok.labels()[tok.token_id(EOT)] == EOT
    assert tok.decode(ids) == "…é"
