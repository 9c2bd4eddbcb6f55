"""The music modality's halves of ``arstudio sample`` (a MIDI file with its recipe) and ``arstudio eval``.

``sample CHECKPOINT --out OUT.mid [--events N] [--primer IN.mid]`` writes one performance of N new
events (default ``DEFAULT_EVENTS``, within the model's context) continuing the primer's first
events, if given; ``--out OUT.wav`` writes it rendered to sound instead. The primer goes into the
recipe, so ``arstudio replay OUT.mid --out COPY.mid`` makes the same file again, byte for byte.
A primer longer than the room the context leaves is cut to its first events (said on stderr).

``eval`` of a music checkpoint: held-out NLL per event (nats and bits) and per window on the split
it recorded; ``--midi FILE`` scores a person's MIDI file instead (in consecutive windows of the
context, each from the model's start state).
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

DEFAULT_EVENTS = 512
MAX_SCORED_EVENTS = 1_000_000  # --midi scores at most this many events of a file


def add_cli_args(command: str, parser: argparse.ArgumentParser) -> None:
    """``sample --events N --primer FILE``; ``eval --midi FILE``."""
    if command == "sample":
        add_once(parser, "--events", type=int, metavar="N",
                 help=f"music models: new events to write (default {DEFAULT_EVENTS}, at most the context)")
        add_once(parser, "--primer", metavar="FILE", help="music models: continue this MIDI file (its first events)")
    elif command == "eval":
        add_once(parser, "--midi", metavar="FILE", help="music models: NLL per event of this MIDI file")


def _music_model(path: Path, model: Any) -> None:
    if model.spec.layout.modality != "music":
        raise ValueError(f"{path.name}: is a {model.spec.layout.modality} model, not a music model")


def plan(length: int, primer: list[int], events: int | None) -> tuple[list[int], int, str]:
    """The kept primer, the new events and a note (empty when nothing was cut) for a run of a ``length`` context."""
    if events is not None and not 1 <= events <= length:
        raise ValueError(f"--events must be between 1 and the model's context of {length} events, got {events}")
    if events is None:
        events = min(DEFAULT_EVENTS, length) if not primer else min(DEFAULT_EVENTS, max(length - len(primer),
                                                                                         length // 2))
    note = ""
    if len(primer) + events > length:
        keep = length - events
        if keep < 1:
            raise ValueError(f"--events {events} fills the model's context of {length} events and leaves no room for "
                             "the primer; ask for fewer events")
        more = "+" if len(primer) >= length else ""
        note = (f"the primer is cut to its first {keep} events (of {len(primer)}{more}), "
                f"so that {events} new events fit the model's context of {length}")
        primer = primer[:keep]
    return primer, events, note


def sample_music(args: argparse.Namespace, path: Path, model: Any, meta: Any) -> dict[str, str]:
    """One performance written as a MIDI file that records its recipe, or as rendered WAV."""
    import numpy as np
    import torch

    from arstudio.core.checkpoint import file_hash
    from arstudio.core.generate import generate, make_generator
    from arstudio.core.replay import recipe_for_run
    from arstudio.io.export import RunDetail, export_samples
    from arstudio.modalities.music.midi import midi_to_events
    from arstudio.train.progress import ProgressBar

    _music_model(path, model)
    length = model.layout.length
    primer = midi_to_events(args.primer, max_events=length) if getattr(args, "primer", None) else []
    primer, n_new, note = plan(length, primer, getattr(args, "events", None))
    if note:
        print(f"note: {note}", file=sys.stderr)
    steps = len(primer) + n_new
    policy = policy_from_args(args)
    recipe = recipe_for_run(path, kind=meta.kind, modality="music", seed=args.seed, batch=1, policy=policy,
                            steps=None if steps >= length else steps,
                            prefix=np.asarray([primer], dtype=np.int64) if primer else None,
                            software=f"arstudio {arstudio.__version__}", sha256=file_hash(path))
    text = recipe.to_text()
    # The same calls as arstudio.core.replay.regenerate_run, so that replay writes the same bytes.
    dev = model.device
    pre = None if recipe.prefix is None else torch.as_tensor(np.asarray(recipe.prefix), dtype=model.data_dtype(),
                                                             device=dev)
    cur = model.start(1, None)
    x = np.full((1, length), math.nan)
    log_prob = np.full((1, length), math.nan)
    given = np.zeros(length, dtype=bool)
    bar = ProgressBar(steps, f"sample {n_new} events")
    try:
        for step in generate(model, batch=1, steps=steps, policy=recipe.policy, prefix=pre,
                             generator=make_generator(recipe.seed), cursor=cur, views=False):
            x[0, step.index], log_prob[0, step.t], given[step.t] = float(step.value[0]), float(step.log_prob[0]), \
                step.forced
            if step.t % 64 == 63 or step.t == steps - 1:
                bar.update(step.t + 1)
    finally:
        bar.close()
    if Path(args.out).suffix.lower() == ".wav":
        from arstudio.modalities.music.render import renderer

        print(f"rendering with {renderer()}", file=sys.stderr)
    export_samples(args.out, model.spec, x, text, RunDetail(log_prob, given, len(primer)))
    args.n = 1
    return text


# ---------------------------------------------------------------------------------------------- eval

def eval_music(args: argparse.Namespace, path: Path, model: Any, meta: Any) -> int | None:
    """Held-out NLL of a music checkpoint per event (nats, bits) and per window; ``--midi FILE`` scores a file."""
    _music_model(path, model)
    if getattr(args, "midi", None):
        if getattr(args, "limit", None) is not None:
            raise ValueError("--limit applies to the held-out split, not to --midi FILE")
        return _eval_file(args, path, model, meta)
    from arstudio.data.datasets import get_dataset
    from arstudio.train.evaluate import evaluate, first_examples
    from arstudio.train.progress import ProgressBar

    name = meta.data.get("name")
    if not name:
        raise ValueError(f"{path.name}: the checkpoint does not record its data set, so there is nothing to "
                         "evaluate on")
    x, _, note = get_dataset(name).recorded_split(args.split, meta.data.get("split", {}).get(args.split))
    x, _, cut = first_examples(x, None, getattr(args, "limit", None))
    note += cut
    if x.shape[1] != model.layout.length:
        raise ValueError(f"{path.name}: the model's context is {model.layout.length} events but {name} windows have "
                         f"{x.shape[1]}")
    print(f"scoring {len(x)} {args.split} windows of {x.shape[1]} events ...", file=sys.stderr, flush=True)
    with ProgressBar(len(x), f"eval {args.split}", unit="windows") as bar:
        m = evaluate(model, x, None, batch_size=8, progress=lambda n, _: bar.update(n))
    per_event = m["nats"] / x.shape[1]
    recorded = meta.metrics.get(f"{args.split}_nats") if not cut else None
    row = {"checkpoint": path.stem, "path": str(path), "kind": meta.kind, "modality": "music", "data": name,
           "split": args.split, "windows": len(x), "events": int(x.numel()), "nats_per_event": per_event,
           "bits_per_event": per_event / math.log(2), "nats_per_window": m["nats"], "recorded_nats": recorded,
           "attention": model.spec.config.get("attention")}
    if args.json:
        print(json.dumps(row, sort_keys=True))
        return 0
    print(f"{path.stem} ({meta.kind}) on {name} {args.split}, {len(x)} windows of {x.shape[1]} events{note}:")
    print(f"  NLL {per_event:.4f} nats/event, {per_event / math.log(2):.4f} bits/event ({m['nats']:.1f} nats/window)"
          + (f"  (recorded at training: {recorded / x.shape[1]:.4f} nats/event)"
             if isinstance(recorded, (int, float)) else ""))
    return 0


def _eval_file(args: argparse.Namespace, path: Path, model: Any, meta: Any) -> int:
    """NLL per event of a MIDI file, in consecutive windows of the context."""
    import torch

    from arstudio.modalities.music.midi import midi_to_events

    events = midi_to_events(args.midi, max_events=MAX_SCORED_EVENTS)
    n = model.layout.length
    x = torch.as_tensor(events, dtype=torch.long, device=model.device)
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(events), n):
            w = x[i:i + n]
            padded = torch.cat([w, w.new_zeros(n - len(w))])  # causal: what follows a step never changes its term
            total -= float(model.log_prob(padded[None])[0, :len(w)].double().sum())
    model.train(was_training)
    per_event = total / len(events)
    windows = math.ceil(len(events) / n)
    row = {"checkpoint": path.stem, "path": str(path), "kind": meta.kind, "file": str(args.midi),
           "events": len(events), "windows": windows, "nats_per_event": per_event,
           "bits_per_event": per_event / math.log(2), "nats": total}
    if args.json:
        print(json.dumps(row, sort_keys=True))
        return 0
    print(f"{path.stem} ({meta.kind}) on {args.midi}: {len(events)} events"
          + (f" (scored in {windows} windows of the context)" if windows > 1 else ""))
    print(f"  NLL {per_event:.4f} nats/event, {per_event / math.log(2):.4f} bits/event ({total:.1f} nats in all)")
    return 0
