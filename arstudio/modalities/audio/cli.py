"""The audio modality's halves of ``arstudio sample`` (a WAV with its recipe) and ``arstudio eval``.

``sample CHECKPOINT --out OUT.wav [--seconds S] [--primer IN.wav] [--condition IN.wav] [--voice NAME]``
writes one sample; ``--condition`` takes the log-mel of that file as local conditioning (the
length then defaults to the file's), ``--primer`` continues the first ``PRIMER_SECONDS`` of a
file. The conditioning row and the primer go into the recipe, so ``arstudio replay OUT.wav --out
COPY.wav`` makes the same file again, byte for byte.

``eval`` of an audio checkpoint: held-out NLL in bits per sample with no conditioning, with the
voice only, with the mel only and with both; ``--vocoder`` adds the log-mel distance between a
few held-out utterances and their WaveNet resynthesis from their mel, against Griffin-Lim from the
same mel, computed in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import arstudio
from arstudio.modalities import add_once, policy_from_args
from arstudio.modalities.audio.condition import recipe_condition

DEFAULT_SECONDS = 1.0
PRIMER_SECONDS = 2.0  # a primer file gives at most its first 2 s
EVAL_BATCH = 8  # windows per batch in eval


def add_cli_args(command: str, parser: argparse.ArgumentParser) -> None:
    """``sample --seconds --primer --condition --voice``; ``eval --vocoder [--vocoder-clips N]``."""
    if command == "sample":
        add_once(parser, "--seconds", type=float, metavar="S",
                 help=f"audio models: seconds of sound in all (default: the --condition file's length, else "
                      f"{DEFAULT_SECONDS:g} s more than the primer)")
        add_once(parser, "--primer", metavar="FILE",
                 help=f"audio models: continue the first {PRIMER_SECONDS:g} s of this audio file")
        add_once(parser, "--condition", metavar="FILE",
                 help="audio models: condition on the log-mel of this audio file (vocoder use)")
        add_once(parser, "--voice", metavar="NAME", help="audio models: the voice to speak in (a name or an index)")
    elif command == "eval":
        add_once(parser, "--vocoder", action="store_true",
                 help="audio models: log-mel distance of WaveNet resynthesis of held-out utterances vs Griffin-Lim")
        add_once(parser, "--vocoder-clips", type=int, default=3, metavar="N",
                 help="audio models: held-out utterances for --vocoder (default 3, their first second each)")


def _audio_model(path: Path, model: Any) -> dict[str, Any]:
    if model.spec.layout.modality != "audio":
        raise ValueError(f"{path.name}: is a {model.spec.layout.modality} model, not an audio model")
    return dict(model.spec.config)


def voice_index(config: dict[str, Any], voice: str | None) -> int | None:
    """The index of ``voice`` (a name or a number) among the model's voices; None for none."""
    if voice is None or voice == "":
        return None
    names = list(config.get("voices") or [])
    if not names:
        raise ValueError("this model was trained without voices, so --voice cannot be used")
    if voice in names:
        return names.index(voice)
    if voice.lstrip("-").isdigit() and 0 <= int(voice) < len(names):
        return int(voice)
    raise ValueError(f"unknown voice {voice!r}; this model's voices: {', '.join(names)}")


def sample_audio(args: argparse.Namespace, path: Path, model: Any, meta: Any) -> dict[str, str]:
    """One sample of sound written as a WAV that records its recipe (see the module docstring)."""
    import numpy as np
    import torch

    from arstudio.core.checkpoint import file_hash
    from arstudio.core.generate import generate, make_generator
    from arstudio.core.replay import recipe_for_run
    from arstudio.io.export import RunDetail, export_samples
    from arstudio.modalities.audio.files import read_audio
    from arstudio.modalities.audio.mel import log_mel
    from arstudio.modalities.audio.mulaw import mu_law_encode
    from arstudio.train.progress import ProgressBar

    config = _audio_model(path, model)
    rate, length = int(config.get("sample_rate", 16000)), model.layout.length
    policy = policy_from_args(args)
    voice = voice_index(config, getattr(args, "voice", None))
    mel, cond_len = None, None
    if getattr(args, "condition", None):
        if int(config.get("n_mels", 0) or 0) < 1:
            raise ValueError(f"{path.name}: this model takes no mel, so --condition cannot be used")
        audio = read_audio(args.condition, rate, max_seconds=length / rate, truncate=True)
        mel, cond_len = log_mel(audio, config).numpy(), len(audio)
    prefix = None
    if getattr(args, "primer", None):
        prefix = mu_law_encode(read_audio(args.primer, rate, max_seconds=PRIMER_SECONDS, truncate=True))[None]
    seconds = getattr(args, "seconds", None)
    if seconds is not None:
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"--seconds must be a positive number, got {seconds}")
        steps = int(round(seconds * rate))
    else:  # the condition's length; else a second more than the primer
        primed = 0 if prefix is None else prefix.shape[1]
        steps = cond_len if cond_len is not None else primed + int(DEFAULT_SECONDS * rate)
        steps = min(steps, length)
    if steps > length:
        raise ValueError(f"{path.name}: writes at most {length / rate:g} s ({length} samples); asked for "
                         f"{steps / rate:g} s")
    if prefix is not None and prefix.shape[1] >= steps:
        raise ValueError(f"the primer is {prefix.shape[1] / rate:g} s long; ask for more --seconds than that")
    cond = recipe_condition(voice, mel)
    recipe = recipe_for_run(path, kind=meta.kind, modality="audio", seed=args.seed, batch=1, policy=policy,
                            steps=None if steps >= length else steps, prefix=prefix, cond=cond,
                            software=f"arstudio {arstudio.__version__}", sha256=file_hash(path))
    text = recipe.to_text()
    # The same calls as arstudio.core.replay.regenerate_run, so that replay writes the same bytes.
    dev = model.device
    pre = None if prefix is None else torch.as_tensor(np.asarray(recipe.prefix), dtype=model.data_dtype(), device=dev)
    cond_t = None if recipe.cond is None else torch.as_tensor(recipe.cond, device=dev)
    cur = model.start(1, cond_t)
    x = np.full((1, length), math.nan)
    log_prob = np.full((1, length), math.nan)
    given = np.zeros(length, dtype=bool)
    bar = ProgressBar(steps, f"sample {steps / rate:g} s")
    try:
        for step in generate(model, batch=1, steps=steps, policy=recipe.policy, cond=cond_t, prefix=pre,
                             generator=make_generator(recipe.seed), cursor=cur, views=False):
            x[0, step.index], log_prob[0, step.t], given[step.t] = float(step.value[0]), float(step.log_prob[0]), \
                step.forced
            if step.t % 1000 == 999 or step.t == steps - 1:
                bar.update(step.t + 1)
    finally:
        bar.close()
    export_samples(args.out, model.spec, x, text, RunDetail(log_prob, given, 0 if pre is None else int(pre.shape[1])))
    args.n = 1
    return text


# ---------------------------------------------------------------------------------------------- eval

def _nll_bits(model: Any, x: Any, rows: Any, batch: int = EVAL_BATCH, label: str = "eval") -> float:
    """Mean NLL of windows x [N, W] in bits per sample under conditioning rows [N, K] (None: none)."""
    import torch

    from arstudio.train.progress import ProgressBar

    total, n = 0.0, 0
    with torch.no_grad(), ProgressBar(len(x), label, unit="windows") as bar:
        for i in range(0, len(x), batch):
            xb = x[i:i + batch].to(model.device)
            cb = None if rows is None else rows[i:i + batch].to(model.device)
            total += float(model.eval_nll(xb, cb).double().sum())
            n += xb.numel()
            bar.update(min(i + batch, len(x)))
    return total / (n * math.log(2))


def eval_audio(args: argparse.Namespace, path: Path, model: Any, meta: Any) -> int | None:
    """Held-out NLL of an audio checkpoint in bits per sample, by conditioning; ``--vocoder`` distances."""
    import torch

    from arstudio.data.datasets import get_dataset
    from arstudio.modalities.audio.mel import DISTANCE_RANGE_DB

    config = _audio_model(path, model)
    name = meta.data.get("name")
    if not name:
        raise ValueError(f"{path.name}: the checkpoint does not record its data set, so there is nothing to evaluate on")
    ds = get_dataset(name)
    x, rows, note = ds.recorded_split(args.split, meta.data.get("split", {}).get(args.split))
    from arstudio.train.evaluate import first_examples

    x, rows, cut = first_examples(x, rows, getattr(args, "limit", None))
    note += cut
    voices, n_mels = list(config.get("voices") or []), int(config.get("n_mels", 0) or 0)
    was_training = model.training
    model.eval()
    results: dict[str, float] = {}
    settings = [("unconditional", None)]
    if rows is not None and voices:
        settings.append(("voice", rows[:, :1]))
    if rows is not None and n_mels and rows.shape[1] > 1:
        settings.append(("mel", torch.cat([torch.full_like(rows[:, :1], -1.0), rows[:, 1:]], 1)))
        if voices:
            settings.append(("voice_and_mel", rows))
    for label, r in settings:
        print(f"scoring {len(x)} {args.split} windows: {label.replace('_', ' ')} ...", file=sys.stderr, flush=True)
        results[label] = _nll_bits(model, x, r, label=f"eval {label.replace('_', ' ')}")
    vocoder = vocoder_eval(model, ds, args.split, int(getattr(args, "vocoder_clips", 3))) \
        if getattr(args, "vocoder", False) else None
    model.train(was_training)
    seconds = len(x) * x.shape[1] / int(config.get("sample_rate", 16000))
    if args.json:
        row = {"checkpoint": path.stem, "path": str(path), "kind": meta.kind, "modality": "audio", "data": name,
               "split": args.split, "windows": len(x), "seconds": seconds,
               **{f"bits_per_sample_{k}": v for k, v in results.items()}}
        if vocoder is not None:
            row.update(vocoder)
        print(json.dumps(row, sort_keys=True))
        return 0
    print(f"{path.stem} ({meta.kind}) on {name} {args.split}, {len(x)} windows of {x.shape[1]} samples "
          f"({seconds:.1f} s){note}:")
    for label, v in results.items():
        print(f"  NLL {label.replace('_', ' '):>14}: {v:.4f} bits/sample")
    if vocoder is not None:
        print(f"  vocoder, {vocoder['vocoder_clips']} held-out utterances of {vocoder['vocoder_seconds']:g} s: mean "
              f"|log-mel difference| to their mel in nats, top {DISTANCE_RANGE_DB:g} dB (lower is better):")
        print(f"    WaveNet from the mel (8-bit mu-law)      {vocoder['mel_distance_wavenet']:.3f}")
        print(f"    Griffin-Lim, 32 iterations (float)       {vocoder['mel_distance_griffin_lim']:.3f}")
        print(f"    Griffin-Lim, coded to 8-bit mu-law       {vocoder['mel_distance_griffin_lim_mulaw']:.3f}")
        print(f"    the original coded to 8-bit mu-law       {vocoder['mel_distance_mulaw']:.3f}  (the coding's floor)")
    return 0


def vocoder_eval(model: Any, ds: Any, split: str, clips: int = 3, seconds: float = 1.0, seed: int = 0
                 ) -> dict[str, Any]:
    """Log-mel distances to held-out utterances' own mels: WaveNet resynthesis, Griffin-Lim, and mu-law coding alone."""
    import numpy as np
    import torch

    from arstudio.core.generate import generate, make_generator
    from arstudio.modalities.audio.mel import griffin_lim, log_mel, mel_distance
    from arstudio.modalities.audio.mulaw import mu_law_decode, mu_law_encode

    config = dict(model.spec.config)
    rate, hop = int(config.get("sample_rate", 16000)), int(config.get("hop_length", 256))
    if int(config.get("n_mels", 0) or 0) < 1:
        raise ValueError("--vocoder needs a model conditioned on a log-mel (n_mels > 0)")
    held = list(zip(getattr(ds, "utterances", {}).get(split, []), getattr(ds, "held_mels", {}).get(split, [])))
    if not held:
        raise ValueError(f"{ds.name} keeps no held-out utterances for --vocoder")
    frames = max(1, min(int(seconds * rate), model.layout.length) // hop)
    held = held[:max(1, clips)]
    dist: dict[str, list[float]] = {"wavenet": [], "griffin_lim": [], "griffin_lim_mulaw": [], "mulaw": []}
    for k, ((voice, codes), mel) in enumerate(held):
        f = min(frames, mel.shape[1], len(codes) // hop, model.layout.length // hop)
        t = f * hop
        ref = torch.as_tensor(mel[:, :f])
        v = voice if config.get("voices") else None
        row = recipe_condition(v, ref.numpy())
        cond = torch.as_tensor(row, device=model.device)
        cur = model.start(1, cond)
        print(f"vocoder {k + 1}/{len(held)}: {t} samples from the mel ...", file=sys.stderr, flush=True)
        for _ in generate(model, batch=1, steps=t, cond=cond, generator=make_generator(seed + k), cursor=cur,
                          views=False):
            pass
        out = mu_law_decode(cur.x[0, :t].cpu().numpy())
        gl = griffin_lim(ref, config, length=t).numpy()
        dist["wavenet"].append(mel_distance(log_mel(out, config), ref))
        dist["griffin_lim"].append(mel_distance(log_mel(gl, config), ref))
        dist["griffin_lim_mulaw"].append(mel_distance(log_mel(mu_law_decode(mu_law_encode(gl)), config), ref))
        dist["mulaw"].append(mel_distance(log_mel(mu_law_decode(codes[:t]), config), ref))
    return {"vocoder_clips": len(held), "vocoder_seconds": frames * hop / rate,
            **{f"mel_distance_{k}": float(np.mean(v)) for k, v in dist.items()}}
