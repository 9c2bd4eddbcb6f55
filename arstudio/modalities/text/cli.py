"""The text modality's halves of ``arstudio sample`` (a continuation of a prompt) and ``arstudio eval --text``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import arstudio
from arstudio.modalities import add_once, policy_from_args


def add_cli_args(command: str, parser: argparse.ArgumentParser) -> None:
    """``sample --prompt TEXT --tokens N``; ``eval --text FILE``."""
    if command == "sample":
        add_once(parser, "--prompt", metavar="TEXT", help="text models: the text to continue (default: empty)")
        add_once(parser, "--tokens", type=int, metavar="N", help="text models: new tokens to write (default 100)")
    elif command == "eval":
        add_once(parser, "--text", metavar="FILE", help="text models: bits per byte and per token of this text file")


def sample_text(args: argparse.Namespace, path: Path, model: Any, meta: Any) -> dict[str, str]:
    """Text: one continuation of ``--prompt`` of ``--tokens`` tokens, as .txt or .json (log-probs and replay recipe)."""
    import numpy as np
    import torch

    from arstudio.core.checkpoint import file_hash
    from arstudio.core.generate import generate
    from arstudio.core.replay import recipe_for_run
    from arstudio.data.text import encode_prompt
    from arstudio.data.tokenizers import tokenizer_from_config
    from arstudio.io.export import RunDetail, export_samples
    from arstudio.train.progress import ProgressBar

    n_new = 100 if args.tokens is None else args.tokens
    if n_new < 1:
        raise ValueError(f"--tokens must be >= 1, got {n_new}")
    prompt = args.prompt or ""
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as e:  # bytes that are not UTF-8 reach argv as lone surrogates
        raise ValueError(f"--prompt is not valid UTF-8 text (bad byte at character {e.start})") from None
    tok = tokenizer_from_config(model.spec.config.get("tokenizer"))
    length = model.layout.length
    ids = encode_prompt(tok, prompt, length, n_new)
    policy = policy_from_args(args)
    prefix = torch.as_tensor([ids], dtype=torch.long, device=model.device) if ids else None
    total = len(ids) + n_new
    x, log_prob = np.full((1, length), np.nan), np.full((1, length), np.nan)
    given = np.zeros(length, dtype=bool)
    with ProgressBar(total, f"sample {n_new} tokens", unit="tokens") as bar:
        for step in generate(model, batch=1, steps=total, policy=policy, seed=args.seed, prefix=prefix, views=False):
            x[0, step.t], log_prob[0, step.t], given[step.t] = float(step.value[0]), float(step.log_prob[0]), \
                step.forced
            bar.update(step.t + 1)
    recipe = recipe_for_run(path, kind=meta.kind, modality="text", seed=args.seed, batch=1, policy=policy,
                            steps=None if total >= length else total, prefix=np.asarray([ids]) if ids else None,
                            software=f"arstudio {arstudio.__version__}", sha256=file_hash(path))
    text = recipe.to_text()  # in the .json's info: `arstudio replay` makes the same file again
    export_samples(args.out, model.spec, x, text, RunDetail(log_prob, given, len(ids)))
    args.n = 1
    return text


def eval_text(args: argparse.Namespace, path: Path, model: Any, meta: Any) -> int | None:
    """Bits per byte, per character and per token of ``--text FILE`` under a text model (teacher forcing).

    None without ``--text``: the held-out evaluation of the checkpoint's own split follows.
    """
    if not getattr(args, "text", None):
        return None
    if getattr(args, "limit", None) is not None:
        raise ValueError("--limit applies to the held-out split, not to --text FILE")
    from arstudio.data.text import score_text
    from arstudio.data.tokenizers import CharTokenizer, tokenizer_from_config

    if model.spec.layout.modality != "text":
        raise ValueError(f"{path.name}: --text needs a text model; this is a {model.spec.layout.modality} model")
    from arstudio.core.files import read_text

    text = read_text(args.text, "text file")  # a regular file of at most 256 MiB: never /dev/zero or a FIFO
    tok = tokenizer_from_config(model.spec.config.get("tokenizer"))
    unknown = tok.unknown(text) if isinstance(tok, CharTokenizer) else []
    m = score_text(model, tok, text)
    nats = -float(m["log_probs"].astype("float64").sum())
    row = {"checkpoint": path.stem if path.is_file() else path.name, "path": str(path), "kind": meta.kind,
           "file": str(args.text), "tokens": len(m["ids"]), "chars": len(text), "bytes": len(text.encode("utf-8")),
           "nats": nats, "bits_per_token": m["bits_per_token"], "bits_per_char": m["bits_per_char"],
           "bits_per_byte": m["bits_per_byte"], "windows": m["windows"], "unknown_chars": len(unknown)}
    if args.json:
        print(json.dumps(row, sort_keys=True))
        return 0
    print(f"{row['checkpoint']} ({meta.kind}) on {args.text}: {row['tokens']} tokens, {row['bytes']} bytes"
          + (f" (scored in {m['windows']} windows of the context)" if m["windows"] > 1 else ""))
    print(f"  {m['bits_per_byte']:.4f} bits/byte, {m['bits_per_char']:.4f} bits/char, "
          f"{m['bits_per_token']:.4f} bits/token ({nats:.1f} nats in all)")
    if unknown:
        print(f"  note: {len(unknown)} character(s) outside the vocabulary were scored as the unknown token")
    return 0
