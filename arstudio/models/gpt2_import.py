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

GPT-2's ``<|endoftext|>`` (``bos_token_id``) is the BOS at position 0 when there is no prompt.
A prompt is read as transformers reads it, without BOS before it (``bos_before_prompt`` False in
the config, so a resumed and re-saved GPT-2 keeps it; see ``GPTCursor.begin_prompt``):
GPT-2 was trained on windows cut from a stream of documents, not on windows opened by BOS, and
``GPT2LMHeadModel.generate`` on a prompt's ids feeds just those ids. (Our own text models are
trained on windows that each start with BOS, so they keep BOS before a prompt too.) Teacher-forced
scores (``log_prob``) still feed BOS first, so that every token, the first one too, has a log p.
Nothing is unpickled: a folder with only ``pytorch_model.bin`` is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from arstudio.core import files, validate
from arstudio.core.checkpoint import CheckpointError, CheckpointMeta, read_header
from arstudio.core.formats import CheckpointFormat
from arstudio.models.gpt import GPT, GPTConfig

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
        c = validate.loads(files.read_text(path, "config"), str(path))
    except ValueError as e:
        raise GPT2ImportError(str(e)) from None
    if not isinstance(c, dict):
        raise GPT2ImportError(f"{path}: is not a JSON object")
    if c.get("model_type", "gpt2") != "gpt2":
        raise GPT2ImportError(f"{path}: describes a {str(c.get('model_type'))[:40]!r} model; only GPT-2 ('gpt2') is "
                              "supported")
    missing = [k for k in ("n_embd", "n_head", "n_layer", "vocab_size", "n_positions") if k not in c]
    if missing:
        raise GPT2ImportError(f"{path}: lacks a valid {missing[0]!r} entry")
    n_embd, n_head, n_layer, vocab, n_pos = c["n_embd"], c["n_head"], c["n_layer"], c["vocab_size"], c["n_positions"]
    eps = c.get("layer_norm_epsilon", 1e-5)
    try:  # whole numbers in range (not 2.7, "3" or true), before anything is built
        validate.check_config(GPTConfig, {"n_embd": n_embd, "n_head": n_head, "n_layer": n_layer, "vocab_size": vocab,
                                          "block_size": n_pos, "layer_norm_epsilon": eps}, "GPT-2")
    except ValueError as e:
        raise GPT2ImportError(f"{path}: {str(e).replace('GPT-2 config ', '')}") from None
    if n_embd % n_head:
        raise GPT2ImportError(f"{path}: n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
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
            "dropout": 0.0, "bias": True, "bos_id": bos, "layer_norm_epsilon": float(eps), "bos_before_prompt": False}


def shard_files(folder: Path) -> list[Path]:
    """The safetensors files of a GPT-2 folder: ``model.safetensors``, or the shards its index lists (which
    must lie inside the folder)."""
    single, index = folder / "model.safetensors", folder / "model.safetensors.index.json"
    if single.is_file():
        return [single]
    if index.is_file():
        try:
            weight_map = validate.loads(files.read_text(index, "json"), str(index))["weight_map"]
            names = sorted(set(weight_map.values()))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise GPT2ImportError(f"{index}: is not a valid shard index") from None
        root = folder.resolve()
        out = []
        for name in names:
            f = folder / name if isinstance(name, str) and name else None
            if f is None or Path(name).is_absolute() or not f.resolve().is_relative_to(root):
                raise GPT2ImportError(f"{index}: lists the shard {str(name)[:80]!r}, which is not a file inside "
                                      f"{folder}")
            out.append(f)
        return out
    pickled = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.pt*")]
    why = (f" (it has {', '.join(pickled)}: arstudio never unpickles files; convert them to safetensors)"
           if pickled else "")
    raise GPT2ImportError(f"{folder}: no model.safetensors{why}")


def read_shapes(shards: list[Path]) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape, from the shards' headers (nothing loaded); GPT2ImportError for a bad shard."""
    shapes: dict[str, tuple[int, ...]] = {}
    for f in shards:
        try:
            header, _ = read_header(f)
        except CheckpointError as e:
            raise GPT2ImportError(f"{f}: could not be read as safetensors ({str(e).removeprefix(f'{f}: ')})") from None
        bad = next((k for k, v in header.items() if v["dtype"] not in validate.FLOAT_DTYPES
                    and not k.endswith((".attn.bias", ".attn.masked_bias"))), None)
        if bad is not None:
            raise GPT2ImportError(f"{f}: tensor {bad!r} is stored as {header[bad]['dtype']}; GPT-2 weights are floats")
        shapes.update({k: tuple(v["shape"]) for k, v in header.items()})
    return shapes


def read_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """Every tensor of ``model.safetensors`` (or of its shards), as float32."""
    out: dict[str, torch.Tensor] = {}
    for f in shard_files(folder):
        try:
            files.check_regular(f)
            out.update(load_file(str(f)))
        except (SafetensorError, OSError, ValueError) as e:
            raise GPT2ImportError(f"{f}: could not be read as safetensors ({e})") from None
    bad = next((k for k, v in out.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())), None)
    if bad is not None:
        raise GPT2ImportError(f"{folder}: tensor {bad!r} holds NaN or infinite values")
    return {k: v.float() for k, v in out.items()}


def map_state_dict(hf: dict[str, torch.Tensor], model: GPT, check_tied: bool = True) -> dict[str, torch.Tensor]:
    """GPT-2's tensors renamed (and Conv1D weights transposed) to our ``GPT``'s state dict; checks shapes."""
    ours: dict[str, torch.Tensor] = {}
    for name, t in hf.items():
        key = name.removeprefix("transformer.")
        if key.endswith((".attn.bias", ".attn.masked_bias")):
            continue  # old files store the causal mask as a buffer
        if key == "lm_head.weight":
            wte = hf.get("transformer.wte.weight", hf.get("wte.weight"))
            if check_tied and wte is not None and not torch.equal(wte, t):
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
            return {"type": "bpe", "json": Tokenizer.from_str(files.read_text(folder / "tokenizer.json", "json")).to_str()}
        vocab, merges = folder / "vocab.json", folder / "merges.txt"
        missing = [p.name for p in (vocab, merges) if not p.is_file()]
        if missing:
            raise GPT2ImportError(f"{folder}: no tokenizer.json, and no {' or '.join(missing)} (GPT-2's tokenizer is "
                                  "tokenizer.json, or vocab.json with merges.txt)")
        validate.loads(files.read_text(vocab, "json"), str(vocab))
        files.read_bytes(merges, "json")  # a regular file of bounded size
        return {"type": "bpe", "json": ByteLevelBPETokenizer(str(vocab), str(merges)).to_str()}
    except GPT2ImportError:
        raise
    except files.InputFileError as e:
        raise GPT2ImportError(str(e)) from None
    except Exception as e:  # tokenizers raises a bare Exception for malformed files
        raise GPT2ImportError(f"{folder}: its tokenizer files could not be read "
                              f"({str(e).splitlines()[0][:200] if str(e) else type(e).__name__})") from None


def _check_sizes(config: dict[str, Any], shapes: dict[str, tuple[int, ...]]) -> None:
    """config.json's sizes against the tensors' shapes (layers, width, vocabulary, positions), before building."""
    short = {k.removeprefix("transformer."): v for k, v in shapes.items()}
    layers = {int(m.group(1)) for k in short if (m := re.match(r"h\.(\d+)\.", k))}
    problems = []
    if len(layers) != config["n_layer"]:
        problems.append(f"n_layer is {config['n_layer']} but the tensors hold {len(layers)} blocks")
    wte, wpe = short.get("wte.weight"), short.get("wpe.weight")
    if wte is not None and len(wte) == 2 and tuple(wte) != (config["vocab_size"], config["n_embd"]):
        problems.append(f"wte.weight has shape {list(wte)}, config.json implies {[config['vocab_size'], config['n_embd']]}")
    if wpe is not None and len(wpe) == 2 and tuple(wpe) != (config["block_size"], config["n_embd"]):
        problems.append(f"wpe.weight has shape {list(wpe)}, config.json implies {[config['block_size'], config['n_embd']]}")
    if problems:
        raise GPT2ImportError("model.safetensors does not match config.json: " + "; ".join(problems))


def load_gpt2(folder: str | os.PathLike, device: str | torch.device = "cpu", tokenizer: bool = True
              ) -> tuple[GPT, CheckpointMeta]:
    """Our ``GPT`` with the weights (and tokenizer) of a Hugging Face GPT-2 folder, and its metadata."""
    d = Path(folder)
    if not d.is_dir():
        raise GPT2ImportError(f"{d}: no such folder" if not d.exists() else f"{d}: is a file, not a GPT-2 folder")
    config = read_config(d)
    shards = shard_files(d)
    if tokenizer:
        config["tokenizer"] = read_tokenizer(d)
        n = _tokenizer_size(config["tokenizer"])
        if n > config["vocab_size"]:
            raise GPT2ImportError(f"{d}: the tokenizer has {n} ids but config.json's vocab_size is "
                                  f"{config['vocab_size']} (mismatched files)")
    shapes = read_shapes(shards)
    _check_sizes(config, shapes)  # arithmetic first: a config far larger than its tensors builds nothing at all
    with torch.device("meta"):  # shapes only, no memory: the tensors are checked before anything real is built
        planned = GPT.from_config(config)
    map_state_dict({k: torch.empty(s, device="meta") for k, s in shapes.items()}, planned, check_tied=False)
    del planned
    tensors = read_tensors(d)
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
