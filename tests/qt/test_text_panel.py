"""The text panel end to end: tokens as generate gives them, hover alternatives, branches, beams, attention, scoring."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from arstudio.core import generate
from arstudio.core.beam import beam_search
from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint
from arstudio.core.policy import SamplingPolicy
from arstudio.core.registry import get
from arstudio.data.tokenizers import CharTokenizer
from arstudio.core.formats import open_checkpoint
from arstudio.modalities.text.files import read_text_json
from arstudio.qt.modalities.text.attention import AVERAGE, EACH

CHARS = "abcde fg\n"


def tiny_text_checkpoint(folder: Path, kind: str = "gpt") -> Path:
    """An untrained text model over a few characters, weights spread so that samples vary."""
    tok = CharTokenizer.from_text(CHARS)
    config = {"vocab_size": tok.vocab_size, "block_size": 24, "tokenizer": tok.to_config()}
    config.update({"n_layer": 2, "n_head": 2, "n_embd": 16} if kind == "gpt" else
                  {"max_len": 24, "n_embd": 8, "hidden": 12, "n_layer": 1})
    torch.manual_seed(0)
    model = get(kind).build(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5 * torch.randn_like(p))
    meta = CheckpointMeta(kind=kind, config=model.spec.config, data={"name": "pydoc-chars"},
                          metrics={"test_nats": 60.0, "test_bits_per_dim": 3.6})
    path = save_checkpoint(folder / f"{kind}-text-tiny.safetensors", model, meta)
    if path.read_bytes()[:1] == b"\x80":  # a header length read as a pickle's magic by core.checkpoint: pad it
        meta.extra["pad"] = "-"
        path = save_checkpoint(path, model, meta)
    return path


@pytest.fixture(scope="module")
def text_ckpt(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("text")
    return {"gpt": tiny_text_checkpoint(d, "gpt"), "char_rnn": tiny_text_checkpoint(d, "char_rnn")}


def run_prompt(w, qtbot, wait_finished, prompt: str, n: int) -> None:
    w.panel.prompt.setPlainText(prompt)
    w.panel.new_tokens.setValue(n)
    w.panel.generate_button.click()
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.state == "finished", timeout=10000)
    wait_finished(w)


def reference(path: Path, prompt: str, n: int, seed: int, forced_prefix: list[int] | None = None) -> list[int]:
    model, _ = open_checkpoint(path)
    tok = CharTokenizer.from_text(CHARS)
    ids = forced_prefix if forced_prefix is not None else tok.encode(prompt)
    prefix = torch.tensor([ids]) if ids else None
    return [int(s.value[0]) for s in generate(model, steps=len(ids) + n, prefix=prefix, seed=seed)]


def test_tokens_appear_as_generate_gives_them(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], batch=4, seed=3)
    assert w.panel.modality == "text"
    run_prompt(w, qtbot, wait_finished, "ab c", 12)
    rec = w.session.record
    assert rec.batch == 1 and rec.filled == 4 + 12 and rec.finished
    ids = w.panel._ids(rec).tolist()
    assert ids == reference(text_ckpt["gpt"], "ab c", 12, seed=3)
    view = w.panel.tokens_view
    assert "".join(view.tokens) == w.panel.tok.decode(ids)
    assert view.given == [True] * 4 + [False] * 12
    # colours follow the probability each token had: a likelier token never sits lower on the ramp
    p = np.exp(rec.log_prob[:16, 0])
    order = np.argsort(p)
    assert np.all(np.diff(np.asarray(view.colours)[order]) >= -1e-9)


def test_hover_shows_the_top_k_alternatives(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], seed=1)
    run_prompt(w, qtbot, wait_finished, "a", 10)
    rec, panel = w.session.record, w.panel
    panel.tokens_view.token_hovered.emit(6)
    probs = rec.views[6].probs[0]
    want = list(np.argsort(-probs, kind="stable")[:panel.alternatives.count()])
    assert panel.alternatives.values() == want and panel.alternatives.count() == min(10, len(probs))
    assert "step 6" in panel.alt_caption.text()
    assert w.inspector.shown() == (6, 0)  # the distribution view follows the hover
    panel.tokens_view.token_hovered.emit(-1)
    assert w.inspector.shown() == (rec.last_step, 0)


def test_clicking_an_alternative_branches_and_keeps_the_forced_token(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], seed=2)
    run_prompt(w, qtbot, wait_finished, "ab", 10)
    first, panel = w.session.record, w.panel
    old = panel._ids(first).tolist()
    step = 5
    panel.tokens_view.token_hovered.emit(step)
    alt = next(v for v in panel.alternatives.values() if v != old[step])
    panel.alternatives.choose(alt)
    qtbot.waitUntil(lambda: w.session.record is not first and w.session.state == "finished", timeout=10000)
    wait_finished(w)
    second = w.session.record
    new = panel._ids(second).tolist()
    assert new[:step] == old[:step] and new[step] == alt and len(new) == len(old)
    assert reference(text_ckpt["gpt"], "", len(new) - step - 1, seed=w.session.settings.seed,
                     forced_prefix=old[:step] + [alt]) == new
    assert panel.tokens_view.forced == {step}
    # the tree: the branch is a child of the first run; selecting the first shows its text again
    assert len(panel.nodes) == 2 and panel.nodes[1].parent == 0 and panel.shown == 1
    panel.tree.node_selected.emit(0)
    assert "".join(panel.tokens_view.tokens) == panel.tok.decode(old)
    panel.tree.node_selected.emit(1)
    assert "".join(panel.tokens_view.tokens) == panel.tok.decode(new)


def test_beam_search_lists_k_continuations_sorted(studio, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"])
    panel = w.panel
    panel.prompt.setPlainText("ab")
    panel.beam_k.setValue(4)
    panel.beam_len.setValue(3)
    panel.search_beams()
    qtbot.waitUntil(lambda: panel.beam_list.count() == 4, timeout=10000)
    model, _ = open_checkpoint(text_ckpt["gpt"])
    want = beam_search(model, panel.tok.encode("ab"), 4, 3)
    assert [b.tokens for b in panel.beams] == [b.tokens for b in want]
    lps = [b.log_prob for b in panel.beams]
    assert lps == sorted(lps, reverse=True)
    panel.beam_list.beam_chosen.emit(0)  # continue from the best beam
    qtbot.waitUntil(lambda: w.session.record is not None and w.session.record.filled >= 5, timeout=10000)
    assert panel._ids(w.session.record)[:5].tolist() == panel.tok.encode("ab") + want[0].tokens


def test_attention_view_shows_each_head(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"])
    run_prompt(w, qtbot, wait_finished, "abc", 6)
    panel = w.panel
    panel.tabs.setCurrentWidget(panel.attention)
    qtbot.waitUntil(lambda: panel.attention.weights is not None, timeout=10000)
    panel.attention.set_choice(heads=EACH)
    weights = panel.attention.weights
    assert weights.shape == (2 * 2, 1 + 8)  # (layers x heads) rows over BOS + the 8 tokens before the last step
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-5)
    model, _ = open_checkpoint(text_ckpt["gpt"])  # the same as the KV cache cursor's own attention
    cur = model.start(1)
    cur.prefill(torch.as_tensor(panel._ids(w.session.record)[:8])[None])
    np.testing.assert_allclose(weights, np.concatenate([a[0] for a in cur.last_attention]), atol=1e-6)
    panel.attention.set_choice(heads=AVERAGE)  # one row per layer: the mean of its heads
    np.testing.assert_allclose(panel.attention.weights, np.stack([a[0].mean(0) for a in cur.last_attention]),
                               atol=1e-6)
    panel.tokens_view.token_clicked.emit(5)  # a pinned token: its attention is shown
    qtbot.waitUntil(lambda: "predicting step 5" in panel.attention.caption.text(), timeout=20000)
    assert panel.attention.weights.shape == (2, 1 + 5)


def test_rnn_has_no_attention_and_says_so(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["char_rnn"])
    run_prompt(w, qtbot, wait_finished, "a", 4)
    w.panel.tabs.setCurrentWidget(w.panel.attention)
    qtbot.waitUntil(lambda: "no attention" in w.panel.attention.caption.text(), timeout=10000)


def test_scoring_heatmap_sums_to_log_prob(studio, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"])
    panel = w.panel
    text = "abc de\nfg ab"
    panel.score_box.setPlainText(text)
    panel.score()
    qtbot.waitUntil(lambda: panel.scored is not None, timeout=10000)
    model, _ = open_checkpoint(text_ckpt["gpt"])
    ids = torch.tensor([panel.tok.encode(text)])
    with torch.no_grad():
        want = model.log_prob(ids)[0].numpy()
    np.testing.assert_allclose(panel.scored["log_probs"], want, atol=1e-5)
    assert math.isclose(float(np.sum(panel.scored["log_probs"])), float(want.sum()), abs_tol=1e-4)
    assert "".join(panel.score_view.tokens) == text and len(panel.score_view.colours) == len(want)
    assert "bits/byte" in panel.score_summary.text()


def test_bad_prompts_say_what_happened(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], seed=0)
    panel = w.panel
    panel.prompt.setPlainText("abz€")
    assert "vocabulary" in panel.hint.text() and "'z'" in panel.hint.text()
    panel.new_tokens.setValue(20)
    panel.prompt.setPlainText("abcdefg ab")  # 10 + 20 > 24
    assert "dropped" in panel.hint.text()
    assert len(panel.prompt_ids()[0]) == 4
    run_prompt(w, qtbot, wait_finished, "", 5)  # empty: from BOS
    assert "Empty prompt" in panel.hint.text()
    assert w.session.record.filled == 5 and not w.last_error


def test_export_json_round_trips(studio, wait_finished, text_ckpt, qtbot, tmp_path):
    w = studio(text_ckpt["gpt"], seed=4)
    run_prompt(w, qtbot, wait_finished, "ab", 8)
    rec = w.session.record
    out = w.export_to(tmp_path / "run.json")
    assert out is not None and not w.last_error
    doc = read_text_json(out)
    assert [t.id for t in doc.tokens] == w.panel._ids(rec).tolist()
    np.testing.assert_allclose([t.log_prob for t in doc.tokens], rec.log_prob[:10, 0], atol=1e-6)
    assert doc.prompt == "ab" and doc.text.startswith("ab") and [t.given for t in doc.tokens[:3]] == [True, True, False]
    txt = w.export_to(tmp_path / "run.txt")
    assert txt.read_text(encoding="utf-8") == doc.text


def test_greedy_run_matches_greedy_generate(studio, wait_finished, text_ckpt, qtbot):
    w = studio(text_ckpt["gpt"], seed=9)
    w.controls.temperature.setValue(0.0)
    run_prompt(w, qtbot, wait_finished, "fg", 7)
    model, _ = open_checkpoint(text_ckpt["gpt"])
    ids = w.panel.tok.encode("fg")
    want = [int(s.value[0]) for s in generate(model, steps=9, prefix=torch.tensor([ids]),
                                              policy=SamplingPolicy(temperature=0.0))]
    assert w.panel._ids(w.session.record).tolist() == want


def _gpt2_folder(d: Path) -> Path:
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(["def f(x):\n    return x\n", "the quick brown fox\n"] * 10, vocab_size=280,
                            show_progress=False, special_tokens=["<|endoftext|>"])
    d.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(d))
    eot = bpe.token_to_id("<|endoftext|>")
    cfg = transformers.GPT2Config(vocab_size=bpe.get_vocab_size(), n_positions=24, n_embd=16, n_layer=1, n_head=2,
                                  bos_token_id=eot, eos_token_id=eot)
    torch.manual_seed(0)
    transformers.GPT2LMHeadModel(cfg).save_pretrained(str(d))
    return d


def test_gpt2_folder_opens_and_a_broken_one_says_why(studio, wait_finished, qtbot, tmp_path):
    folder = _gpt2_folder(tmp_path / "gpt2")
    w = studio(folder, seed=5)
    assert not w.last_error and w.panel.modality == "text" and w.panel.stop_at_end.isChecked()
    run_prompt(w, qtbot, wait_finished, "def f", 6)
    model, _ = open_checkpoint(folder)
    ids = w.panel.tok.encode("def f")
    want = [int(s.value[0]) for s in generate(model, steps=len(ids) + 6, prefix=torch.tensor([ids]), seed=5)]
    got = w.panel._ids(w.session.record).tolist()
    end = model.bos  # <|endoftext|>: the run stops there when it is sampled
    assert got == want[:len(got)] and (len(got) == len(want) or got[-1] == end)
    (folder / "merges.txt").unlink()
    w.open_checkpoint(folder)
    qtbot.waitUntil(lambda: "merges.txt" in w.last_error, timeout=10000)
    w.close()


def test_studio_text_export_replays_byte_for_byte(studio, wait_finished, text_ckpt, qtbot, tmp_path, monkeypatch):
    from arstudio.cli import main

    w = studio(text_ckpt["gpt"], seed=6)
    w.controls.temperature.setValue(0.8)
    run_prompt(w, qtbot, wait_finished, "ab", 9)
    first, panel = w.session.record, w.panel
    panel.tokens_view.token_hovered.emit(4)  # branch at step 4: a prefix and a forced token
    alt = next(v for v in panel.alternatives.values() if v != panel._ids(first)[4])
    panel.alternatives.choose(alt)
    qtbot.waitUntil(lambda: w.session.record is not first and w.session.state == "finished", timeout=10000)
    wait_finished(w)
    outs = [w.export_to(tmp_path / "branch.json")]
    panel.tree.node_selected.emit(0)  # the first run, shown again: Export writes it, with its own recipe
    outs.append(w.export_to(tmp_path / "first.json"))
    assert read_text_json(outs[1]).text == panel.tok.decode(panel._ids(first))
    for out in outs:
        copy = tmp_path / ("copy-" + out.name)
        assert main(["replay", str(out), "--out", str(copy), "--checkpoint", str(text_ckpt["gpt"])]) == 0
        assert copy.read_bytes() == out.read_bytes()
    # File > Replay opens the text as a paused run that plays to the same tokens
    want = panel._ids(first).tolist()
    w.session.reset()
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(text_ckpt["gpt"].parent))
    assert w.replayer.open(outs[1])
    qtbot.waitUntil(lambda: w.session.state == "paused" and w.session.record is not None, timeout=10000)
    w.controls.play_button.click()
    wait_finished(w)
    assert w.panel._ids(w.session.record).tolist() == want


def test_model_info_labels_the_units_for_text(studio, text_ckpt):
    w = studio(text_ckpt["gpt"])  # its metrics have no bits per character: bits per token, said so
    assert "60.00 nats/window (3.6000 bits/token)" in w.controls.model_info.text()
    w.close()


def test_file_menu_opens_a_gpt2_folder(studio, qtbot, checkpoints, gpt2_folder, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    w = studio(checkpoints["nade"])
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: asked.append("dir") or str(gpt2_folder))
    w.open_folder_action.trigger()
    qtbot.waitUntil(lambda: w.session.model is not None and w.session.model.path == gpt2_folder, timeout=20000)
    assert asked == ["dir"] and w.panel.modality == "text" and not w.last_error
    assert "GPT-2" in w.open_folder_action.toolTip()
    w.close()


def test_the_strip_counts_bits_per_token_for_text(studio, wait_finished, text_ckpt) -> None:
    w = studio(text_ckpt["gpt"], batch=1)
    w.controls.play_button.click()
    wait_finished(w)
    assert "bits/token" in w.strip.summary.text() and "bits/dim" not in w.strip.summary.text()
