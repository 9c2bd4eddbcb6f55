"""A GPT-2 folder continues a prompt token for token as transformers' ``GPT2LMHeadModel.generate`` does.

With a prompt no BOS goes before it (transformers feeds the prompt's ids alone); with an empty
prompt ``<|endoftext|>`` starts the context. Checked through ``arstudio sample`` (the code path
the studio's runs share: ``core.generate``) and ``arstudio replay``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from arstudio.cli import main
from arstudio.core import SamplingPolicy, generate
from arstudio.data.tokenizers import tokenizer_from_config
from arstudio.models.gpt2_import import load_gpt2

transformers = pytest.importorskip("transformers")

PROMPT = "def f(x):"
NEW = 12


def greedy_transformers(folder: Path, ids: list[int], n: int) -> list[int]:
    """The ids transformers' greedy decoding writes after ``ids`` (which it feeds as they are)."""
    ref = transformers.GPT2LMHeadModel.from_pretrained(str(folder)).eval()
    inputs = torch.tensor([ids])
    eot = ref.config.eos_token_id
    with torch.no_grad():
        out = ref.generate(inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=n, min_new_tokens=n,
                           do_sample=False, use_cache=True, pad_token_id=eot)
    return out[0, len(ids):].tolist()


def sample_ids(folder: Path, out: Path, *prompt: str) -> list[dict]:
    assert main(["sample", str(folder), "--out", str(out), "--tokens", str(NEW), "--temperature", "0",
                 *prompt]) == 0
    return json.loads(out.read_text())["tokens"]


def test_a_prompt_continues_as_transformers_does(gpt2_folder: Path, tmp_path: Path, capsys) -> None:
    _, meta = load_gpt2(gpt2_folder)
    ids = tokenizer_from_config(meta.config["tokenizer"]).encode(PROMPT)
    assert len(ids) > 1
    tokens = sample_ids(gpt2_folder, tmp_path / "p.json", "--prompt", PROMPT)
    assert [t["id"] for t in tokens[:len(ids)]] == ids and all(t["given"] for t in tokens[:len(ids)])
    assert [t["id"] for t in tokens[len(ids):]] == greedy_transformers(gpt2_folder, ids, NEW)
    # the same without BOS would differ (the test can tell): transformers with <|endoftext|> before the prompt
    eot = meta.config["bos_id"]
    assert greedy_transformers(gpt2_folder, [eot, *ids], NEW) != [t["id"] for t in tokens[len(ids):]]
    # replay runs the same loop: the same file again
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "p.json"), "--out", str(tmp_path / "copy.json"),
                 "--checkpoint", str(gpt2_folder)]) == 0
    assert "matches the file byte for byte" in capsys.readouterr().out


def test_an_empty_prompt_starts_from_bos(gpt2_folder: Path, tmp_path: Path) -> None:
    _, meta = load_gpt2(gpt2_folder)
    eot = meta.config["bos_id"]
    tokens = sample_ids(gpt2_folder, tmp_path / "e.json")
    assert [t["id"] for t in tokens] == greedy_transformers(gpt2_folder, [eot], NEW)
    assert not any(t["given"] for t in tokens)


def test_the_prompts_log_probs_are_transformers_scores(gpt2_folder: Path) -> None:
    """Each prompt token after the first has the log p transformers gives it from the tokens before it alone."""
    model, meta = load_gpt2(gpt2_folder)
    ids = tokenizer_from_config(meta.config["tokenizer"]).encode(PROMPT)
    steps = list(generate(model, steps=len(ids), prefix=torch.tensor([ids]), policy=SamplingPolicy(temperature=0.0),
                          views=False))
    ref = transformers.GPT2LMHeadModel.from_pretrained(str(gpt2_folder)).eval()
    with torch.no_grad():
        lp = torch.log_softmax(ref(torch.tensor([ids])).logits[0], -1)  # position i predicts token i + 1
        first = torch.log_softmax(ref(torch.tensor([[meta.config["bos_id"]]])).logits[0, 0], -1)[ids[0]]
    want = [float(first)] + [float(lp[i, ids[i + 1]]) for i in range(len(ids) - 1)]
    assert [float(s.log_prob[0]) for s in steps] == pytest.approx(want, abs=1e-4)


def test_our_own_text_models_keep_bos_before_a_prompt() -> None:
    """Our GPT is trained on windows that each start with BOS, so a prompt follows BOS there too."""
    from arstudio.core import registry

    torch.manual_seed(0)
    model = registry.get("gpt").build({**registry.get("gpt").tiny_config, "vocab_size": 11}).eval()
    prompt = torch.tensor([[3, 1, 4]])
    steps = list(generate(model, steps=6, prefix=prompt, policy=SamplingPolicy(temperature=0.0), views=False))
    with torch.no_grad():
        x = torch.tensor([[int(s.value[0]) for s in steps]])
        want = model.log_prob(x)[0]  # teacher forcing: [BOS, x_0 .. x_4] predicts x_0 .. x_5
    assert [float(s.log_prob[0]) for s in steps] == pytest.approx(want.tolist(), abs=1e-5)


def test_a_beam_of_one_is_transformers_greedy_continuation(gpt2_folder: Path) -> None:
    from arstudio.core.beam import beam_search

    model, meta = load_gpt2(gpt2_folder)
    ids = tokenizer_from_config(meta.config["tokenizer"]).encode(PROMPT)
    (best,) = beam_search(model, ids, k=1, steps=NEW)
    assert best.tokens == greedy_transformers(gpt2_folder, ids, NEW)


def test_the_attention_of_a_prompted_gpt2_run_has_no_bos_key(gpt2_folder: Path) -> None:
    model, meta = load_gpt2(gpt2_folder)
    ids = tokenizer_from_config(meta.config["tokenizer"]).encode(PROMPT)
    ref = transformers.GPT2LMHeadModel.from_pretrained(str(gpt2_folder), attn_implementation="eager").eval()
    with torch.no_grad():
        want = ref(torch.tensor([ids]), output_attentions=True).attentions  # per layer [1, heads, T, T]
    cur = model.start(1)
    cur.begin_prompt()
    cur.prefill(torch.tensor([ids]))
    got = cur.last_attention  # the query of the last prompt token, over the prompt alone
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(torch.as_tensor(g[0]).float(), w[0, :, -1, :], atol=1e-5, rtol=1e-4)


def test_a_gpt2_saved_as_our_checkpoint_still_reads_a_prompt_without_bos(gpt2_folder: Path, tmp_path: Path) -> None:
    """Resumed in training and saved, an imported GPT-2 is a plain ``gpt`` checkpoint: it keeps the setting."""
    from arstudio.core.checkpoint import load_checkpoint, save_checkpoint

    model, meta = load_gpt2(gpt2_folder)
    saved = save_checkpoint(tmp_path / "gpt2-tuned.safetensors", model, meta)
    again, meta2 = load_checkpoint(saved)
    assert meta2.config["bos_before_prompt"] is False and again.config.bos_before_prompt is False
    from_folder = sample_ids(gpt2_folder, tmp_path / "a.json", "--prompt", PROMPT)
    from_file = sample_ids(saved, tmp_path / "b.json", "--prompt", PROMPT)
    assert [t["id"] for t in from_file] == [t["id"] for t in from_folder]
