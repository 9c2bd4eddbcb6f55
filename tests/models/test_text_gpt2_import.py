"""GPT-2 folders in Hugging Face's layout open as our GPT: logits match transformers' GPT2LMHeadModel."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from arstudio.core import SamplingPolicy, generate
from arstudio.data.tokenizers import tokenizer_from_config
from arstudio.models.gpt2_import import GPT2ImportError, is_gpt2_folder, load_gpt2

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

def hf_model(folder: Path):
    return transformers.GPT2LMHeadModel.from_pretrained(str(folder)).eval()


def test_logits_match_transformers(gpt2_folder: Path) -> None:
    ours, meta = load_gpt2(gpt2_folder)
    ref = hf_model(gpt2_folder)
    assert is_gpt2_folder(gpt2_folder) and meta.kind == "gpt"
    idx = torch.randint(ours.vocab_size, (3, 32), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours(idx)[0], ref(idx).logits, atol=1e-4, rtol=0)
        # dists() feeds <|endoftext|> first, as GPT-2 is prompted
        x = idx[:, :31]
        with_bos = torch.cat([torch.full((3, 1), ours.bos), x], 1)
        torch.testing.assert_close(ours.dists(x).logits, torch.log_softmax(ref(with_bos).logits[:, :31], -1),
                                   atol=1e-4, rtol=0)


def test_greedy_tokens_match_transformers_generate(gpt2_folder: Path) -> None:
    ours, meta = load_gpt2(gpt2_folder)
    ref = hf_model(gpt2_folder)
    tok = tokenizer_from_config(meta.config["tokenizer"])
    prompt = torch.tensor([tok.encode("def f(x):")])
    steps = list(generate(ours, steps=20, prefix=prompt, policy=SamplingPolicy(temperature=0.0)))
    mine = [int(s.value[0]) for s in steps]
    with torch.no_grad():  # a prompt is fed as it is, without BOS before it, as transformers does
        theirs = ref.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=20 - prompt.shape[1],
                              do_sample=False, use_cache=True, pad_token_id=ours.bos)
    assert mine == theirs[0].tolist()


def test_tokenizer_files(gpt2_folder: Path, tmp_path: Path) -> None:
    _, meta = load_gpt2(gpt2_folder)
    tok = tokenizer_from_config(meta.config["tokenizer"])
    ref = tokenizers.ByteLevelBPETokenizer(str(gpt2_folder / "vocab.json"), str(gpt2_folder / "merges.txt"))
    assert tok.encode("print(i + 1)") == ref.encode("print(i + 1)").ids
    d = tmp_path / "with_json"
    shutil.copytree(gpt2_folder, d)
    (d / "vocab.json").unlink()
    (d / "merges.txt").unlink()
    ref.save(str(d / "tokenizer.json"))
    _, meta2 = load_gpt2(d)
    assert tokenizer_from_config(meta2.config["tokenizer"]).encode("print(i)") == ref.encode("print(i)").ids


def broken(src: Path, dst: Path, drop: str = "", config: dict | None = None) -> Path:
    shutil.copytree(src, dst)
    if drop:
        (dst / drop).unlink()
    if config:
        c = json.loads((dst / "config.json").read_text())
        (dst / "config.json").write_text(json.dumps({**c, **config}))
    return dst


@pytest.mark.parametrize("drop, config, message", [
    ("config.json", None, "no config.json"),
    ("model.safetensors", None, "no model.safetensors"),
    ("merges.txt", None, "no tokenizer.json, and no merges.txt"),
    ("", {"n_embd": 48}, "does not match config.json"),
    ("", {"n_layer": 3}, "n_layer is 3 but the tensors hold 2 blocks"),
    ("", {"vocab_size": 100}, "the tokenizer has .* ids but config.json's vocab_size is 100"),
    ("", {"activation_function": "relu"}, "activation 'relu'"),
    ("", {"model_type": "llama"}, "only GPT-2"),
])
def test_bad_folders_have_clear_messages(gpt2_folder: Path, tmp_path: Path, drop: str, config: dict | None,
                                         message: str) -> None:
    d = broken(gpt2_folder, tmp_path / "bad", drop, config)
    with pytest.raises(GPT2ImportError, match=message):
        load_gpt2(d)


def test_pickles_are_refused_and_files_are_not_folders(gpt2_folder: Path, tmp_path: Path) -> None:
    d = broken(gpt2_folder, tmp_path / "pt", "model.safetensors")
    (d / "pytorch_model.bin").write_bytes(b"PK\x03\x04")
    with pytest.raises(GPT2ImportError, match="never unpickles"):
        load_gpt2(d)
    with pytest.raises(GPT2ImportError, match="no such folder"):
        load_gpt2(tmp_path / "nowhere")
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(GPT2ImportError, match="not a GPT-2 folder"):
        load_gpt2(tmp_path / "model.safetensors")
    d2 = broken(gpt2_folder, tmp_path / "corrupt")
    (d2 / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with pytest.raises(GPT2ImportError, match="could not be read as safetensors|does not match"):
        load_gpt2(d2)
