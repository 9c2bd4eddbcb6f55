"""Byte-level BPE in the text panel: a character split over tokens is shown whole ("…", "é"), never as "��"."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint
from arstudio.core.registry import get
from arstudio.data.tokenizers import BPETokenizer
from arstudio.modalities.text.pieces import TokenText
from tests.qt.test_text_panel import run_prompt

PROMPT = "the cafe … é said"
LINES = ["the cafe said a word\n", "said the word to the cafe\n"]  # no "…" or "é": their bytes stay single tokens


def bpe_tokenizer() -> BPETokenizer:
    return BPETokenizer.train(LINES * 8, vocab_size=270)


@pytest.fixture(scope="module")
def bpe_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tok = bpe_tokenizer()
    config = {"vocab_size": tok.vocab_size, "block_size": 40, "n_layer": 1, "n_head": 2, "n_embd": 16,
              "tokenizer": tok.to_config()}
    torch.manual_seed(0)
    model = get("gpt").build(config)
    meta = CheckpointMeta(kind="gpt", config=model.spec.config, data={"name": "pydoc"},
                          metrics={"test_nats": 60.0, "test_bits_per_dim": 3.6})
    path = save_checkpoint(tmp_path_factory.mktemp("bpe") / "gpt-bpe-tiny.safetensors", model, meta)
    if path.read_bytes()[:1] == b"\x80":  # as tiny_text_checkpoint: keep the header from reading as a pickle
        meta.extra["pad"] = "-"
        path = save_checkpoint(path, model, meta)
    return path


def test_pieces_join_to_the_decoded_text_and_labels_escape_bytes():
    tok = bpe_tokenizer()
    text = TokenText(tok, tok.vocab_size)
    ids = tok.encode(PROMPT)
    pieces = text.pieces(ids)
    assert text.byte_level and "".join(pieces) == PROMPT == tok.decode(ids)
    assert "" in pieces and "…" in pieces and "é" in pieces  # the first bytes add nothing, the last the character
    assert not any("\ufffd" in text.labels[i] for i in ids)
    assert "\\xe2" in [text.labels[i] for i in ids]  # the first byte of "…", by its escape
    eot = tok.token_id("<|endoftext|>")
    assert text.pieces([eot] + ids)[0] == "<|endoftext|>"
    assert "".join(text.pieces(ids + [eot])).endswith("said<|endoftext|>")


def test_the_token_view_shows_split_characters_whole(studio, wait_finished, bpe_ckpt, qtbot):
    w = studio(bpe_ckpt, seed=1)
    panel = w.panel
    run_prompt(w, qtbot, wait_finished, PROMPT, 8)
    rec = w.session.record
    ids = panel._ids(rec).tolist()
    n = len(panel.tok.encode(PROMPT))
    view = panel.tokens_view
    assert "".join(view.tokens[:n]) == PROMPT and "\ufffd" not in "".join(view.tokens[:n])
    assert "".join(view.tokens).count("\ufffd") <= panel.tok.decode(ids).count("\ufffd")  # only what the bytes hold
    first_byte = view.tokens.index("")  # the token that opens "…": a thin box of its own, named by its escape
    assert view.box(first_byte).width() < view.fontMetrics().horizontalAdvance("x")
    tip = view.tooltip_at(view.box(first_byte).center())
    assert "\\x" in tip and "\ufffd" not in tip
    view.token_hovered.emit(first_byte)
    rows = [panel.alternatives.item(i).text() for i in range(panel.alternatives.count())]
    assert rows and not any("\ufffd" in r for r in rows) and "\ufffd" not in panel.alt_caption.text()
    assert "\ufffd" not in panel.describe_step(rec, first_byte)
    w.close()


def test_scored_text_with_split_characters_reads_as_written(studio, bpe_ckpt, qtbot):
    w = studio(bpe_ckpt)
    panel = w.panel
    text = "a … café é"
    panel.score_box.setPlainText(text)
    panel.score()
    qtbot.waitUntil(lambda: panel.scored is not None, timeout=20000)
    assert "".join(panel.score_view.tokens) == text and len(panel.score_view.tokens) == len(panel.tok.encode(text))
    assert "bits/char" in panel.score_summary.text()
    w.close()
