"""Open a GPT-2 checkpoint as people have it on disk (Hugging Face's layout) as our ``GPT``.

A folder holds ``config.json``, ``model.safetensors`` (or shards listed in
``model.safetensors.index.json``) and the tokenizer: ``tokenizer.json``, or ``vocab.json`` with
``merges.txt``. Tensors are mapped onto ``arstudio.models.gpt.GPT`` by name:

    HF name (``transformer.`` prefix optional)     ours
    wte.weight, wpe.weight                          transformer.wte.weight, transformer.wpe.weight
    h.{i}.ln_1 / ln_2 / ln_f  .weight .bias          the same names
    h.{i}.attn.c_attn / c_proj  .weight  [in, out]   transposed: nn.Linear keeps [out, in]
    h.{i}.mlp.c_fc / c_proj     .weight  [in, out]   transposed (GPT-2's ``Conv1D`` is x @ W + b)
    h.{i}.attn.bias, .masked_bias                    dropped (causal-mask buffers of old files)
    lm_head.weight                                   dropped when equal to wte (the head is tied)

GPT-2 feeds ``<|endoftext|>`` before a document, so that id (``bos_token_id``) is the BOS at
position 0. Nothing is unpickled: a folder with only ``pytorch_model.bin`` is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from arstudio.core.checkpoint import CheckpointError, CheckpointMeta
from arstudio.core.formats import CheckpointFormat
from arstudio.models.gpt import GPT

TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
GELU_TANH = ("gelu_new", "gelu_pytorch_tanh")


class GPT2ImportError(CheckpointError):
    """A GPT-2 folder that cannot be opened; the message names the file and what is wrong."""


def is_gpt2_folder(path: str | os.PathLike) -> bool:
    """True for a folder that looks like a Hugging Face GPT-2 checkpoint (it has a config.json)."""
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file()


def read_config(folder: Path) -> dict[str, Any]:
    """Our GPT config from GPT-2's ``config.json``; raise for settings our GPT does not implement."""
    path = folder / "config.json"
    if not path.is_file():
        raise GPT2ImportError(f"{folder}: no config.json (a GPT-2 folder needs config.json and model.safetensors)")
    try:
        c = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GPT2ImportError(f"{path}: is not valid JSON ({e})") from None
    if not isinstance(c, dict):
        raise GPT2ImportError(f"{path}: is not a JSON object")
    if c.get("model_type", "gpt2") != "gpt2":
        raise GPT2ImportError(f"{path}: describes a {c.get('model_type')!r} model; only GPT-2 ('gpt2') is supported")
    try:
        n_embd, n_head, n_layer = int(c["n_embd"]), int(c["n_head"]), int(c["n_layer"])
        vocab, n_pos = int(c["vocab_size"]), int(c["n_positions"])
    except (KeyError, TypeError, ValueError) as e:
        raise GPT2ImportError(f"{path}: lacks a valid {e} entry") from None
    problems = []
    if c.get("activation_function", "gelu_new") not in GELU_TANH:
        problems.append(f"activation {c.get('activation_function')!r} (ours is GELU, tanh form)")
    if c.get("n_inner") not in (None, 4 * n_embd):
        problems.append(f"n_inner {c.get('n_inner')} (ours is 4 * n_embd)")
    if not c.get("scale_attn_weights", True) or c.get("scale_attn_by_inverse_layer_idx", False):
        problems.append("a non-standard attention scaling")
    if not c.get("tie_word_embeddings", True):
        problems.append("an untied output head")
    if problems:
        raise GPT2ImportError(f"{path}: not supported: " + "; ".join(problems))
    bos = c.get("bos_token_id")
    if not isinstance(bos, int) or not 0 <= bos < vocab:
        bos = c.get("eos_token_id")
    if not isinstance(bos, int) or not 0 <= bos < vocab:
        raise GPT2ImportError(f"{path}: no bos_token_id / eos_token_id inside the vocabulary of {vocab}")
    return {"vocab_size": vocab, "block_size": n_pos, "n_layer": n_layer, "n_head": n_head, "n_embd": n_embd,
            "dropout": 0.0, "bias": True, "bos_id": bos, "layer_norm_epsilon": float(c.get("layer_norm_epsilon", 1e-5))}


def read_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of ``model.safetensors`` (or of its shards), as float32."""
    single, index = folder / "model.safetensors", folder / "model.safetensors.index.json"
    if single.is_file():
        files = [single]
    elif index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            files = [folder / f for f in sorted(set(weight_map.values()))]
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise GPT2ImportError(f"{index}: is not a valid shard index") from None
    else:
        pickled = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.pt*")]
        why = (f" (it has {', '.join(pickled)}: arstudio never unpickles files; convert them to safetensors)"
               if pickled else "")
        raise GPT2ImportError(f"{folder}: no model.safetensors{why}")
    out: dict[str, torch.Tensor] = {}
    for f in files:
        if not f.is_file():
            raise GPT2ImportError(f"{f}: missing (listed in the shard index)")
        try:
            out.update(load_file(str(f)))
        except (SafetensorError, OSError, ValueError) as e:
            raise GPT2ImportError(f"{f}: could not be read as safetensors ({e})") from None
    return {k: v.float() for k, v in out.items()}


def map_state_dict(hf: dict[str, torch.Tensor], model: GPT) -> dict[str, torch.Tensor]:
    """GPT-2's tensors renamed (and Conv1D weights transposed) to our ``GPT``'s state dict; checks shapes."""
    ours: dict[str, torch.Tensor] = {}
    for name, t in hf.items():
        key = name.removeprefix("transformer.")
        if key.endswith((".attn.bias", ".attn.masked_bias")):
            continue  # old files store the causal mask as a buffer
        if key == "lm_head.weight":
            wte = hf.get("transformer.wte.weight", hf.get("wte.weight"))
            if wte is not None and not torch.equal(wte, t):
                raise GPT2ImportError("lm_head.weight differs from wte.weight: an untied head is not supported")
            continue
        if key.endswith(TRANSPOSED):
            t = t.t()  # Conv1D [in, out] -> Linear [out, in]
        ours["transformer." + key] = t.contiguous()
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    problems = [f"missing {k.removeprefix('transformer.')}" for k in expected if k not in ours]
    problems += [f"unexpected {k.removeprefix('transformer.')}" for k in ours if k not in expected]
    problems += [f"{k.removeprefix('transformer.')} has shape {list(ours[k].shape)}, config.json implies {list(s)}"
                 for k, s in expected.items() if k in ours and tuple(ours[k].shape) != s]
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise GPT2ImportError("model.safetensors does not match config.json: " + "; ".join(problems[:3]) + more)
    return ours


def read_tokenizer(folder: Path) -> dict[str, Any]:
    """GPT-2's tokenizer as the config dict ``arstudio.data.tokenizers`` reads: {"type": "bpe", "json": ...}."""
    from tokenizers import ByteLevelBPETokenizer, Tokenizer

    try:
        if (folder / "tokenizer.json").is_file():
            return {"type": "bpe", "json": Tokenizer.from_file(str(folder / "tokenizer.json")).to_str()}
        vocab, merges = folder / "vocab.json", folder / "merges.txt"
        missing = [p.name for p in (vocab, merges) if not p.is_file()]
        if missing:
            raise GPT2ImportError(f"{folder}: no tokenizer.json, and no {' or '.join(missing)} (GPT-2's tokenizer is "
                                  "tokenizer.json, or vocab.json with merges.txt)")
        json.loads(vocab.read_text(encoding="utf-8"))
        return {"type": "bpe", "json": ByteLevelBPETokenizer(str(vocab), str(merges)).to_str()}
    except GPT2ImportError:
        raise
    except Exception as e:  # tokenizers raises a bare Exception for malformed files
        raise GPT2ImportError(f"{folder}: its tokenizer files could not be read "
                              f"({str(e).splitlines()[0][:200] if str(e) else type(e).__name__})") from None


def load_gpt2(folder: str | os.PathLike, device: str | torch.device = "cpu", tokenizer: bool = True
              ) -> tuple[GPT, CheckpointMeta]:
    """Our ``GPT`` with the weights (and tokenizer) of a Hugging Face GPT-2 folder, and its metadata."""
    d = Path(folder)
    if not d.is_dir():
        raise GPT2ImportError(f"{d}: no such folder" if not d.exists() else f"{d}: is a file, not a GPT-2 folder")
    config = read_config(d)
    tensors = read_tensors(d)
    if tokenizer:
        config["tokenizer"] = read_tokenizer(d)
        n = _tokenizer_size(config["tokenizer"])
        if n > config["vocab_size"]:
            raise GPT2ImportError(f"{d}: the tokenizer has {n} ids but config.json's vocab_size is "
                                  f"{config['vocab_size']} (mismatched files)")
    model = GPT.from_config(config)
    model.load_state_dict(map_state_dict(tensors, model))
    model.to(device).eval()
    meta = CheckpointMeta(kind="gpt", config=model.spec.config, data={"name": "gpt2", "source": str(d)},
                          recipe=f"load_gpt2({str(d)!r})", extra={"format": "huggingface-gpt2",
                                                                  "parameters": model.num_parameters()})
    return model, meta


def _tokenizer_size(config: dict[str, Any]) -> int:
    from tokenizers import Tokenizer

    return int(Tokenizer.from_str(config["json"]).get_vocab_size(with_added_tokens=True))


GPT2_FOLDER = CheckpointFormat(
    name="gpt2-folder",
    description="a Hugging Face GPT-2 folder (config.json, model.safetensors, vocab.json + merges.txt or tokenizer.json)",
    claims=is_gpt2_folder,
    open=lambda path, device: load_gpt2(path, device=device),
)
