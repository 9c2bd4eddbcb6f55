"""The ``arstudio`` command: open the studio, or list | train | sample | eval | compare | bench.

Every command calls the same functions the studio calls. Every error is one line on stderr and
a non-zero exit status, never a traceback (``ARSTUDIO_DEBUG=1`` shows it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import arstudio

from arstudio.cli_compare import add_parser as add_compare_parser
from arstudio.cli_eval import eval_checkpoint
from arstudio.cli_list import cmd_list

PROG = "arstudio"


class UsageError(Exception):
    """A command line that does not parse; exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block) and raise instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def _errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean bad input, not a bug: reported as one line."""
    from arstudio.core.checkpoint import CheckpointError
    from arstudio.core.modality import UnknownModalityError
    from arstudio.core.registry import UnknownKindError
    from arstudio.data.datasets import UnknownDatasetError
    from arstudio.io.errors import ExportError

    return (CheckpointError, UnknownKindError, UnknownModalityError, UnknownDatasetError, ExportError, ValueError,
            OSError)


def _describe(e: BaseException) -> str:
    """One line for a bad-input error; an OSError names its file ("[Errno 5]" alone says nothing)."""
    if isinstance(e, OSError) and not isinstance(e, _errors()[:-1]):
        from arstudio.core.files import describe_os_error

        if e.filename is not None:
            return describe_os_error(e.filename, e)
        return f"{e.strerror or e} (errno {e.errno})" if e.errno else str(e) or type(e).__name__
    return str(e) or type(e).__name__


def _fail(msg: str, err: TextIO | None = None) -> None:
    print(f"{PROG}: error: {' '.join(str(msg).split())}", file=err or sys.stderr)


# ---------------------------------------------------------------------------------------------- studio

STUDIO_MODULE = "arstudio.qt.app"


def _load_studio() -> Any:
    """Import the Qt app by name (a static import would pull Qt into the GUI-free command line)."""
    return importlib.import_module(STUDIO_MODULE)


def cmd_studio(args: argparse.Namespace) -> int:
    """Open the studio window; arguments after ``studio`` are passed on to it."""
    try:
        app = _load_studio()
    except ModuleNotFoundError as e:
        if (e.name or "").startswith("arstudio.qt"):
            _fail("the studio is not part of this build (arstudio.qt.app is missing); "
                  f"the command line works: {PROG} --help")
        else:
            _fail(f"the studio needs {e.name}, which is not installed (pip install PySide6-Essentials pyqtgraph)")
        return 1
    app_main = getattr(app, "main", None)
    if not callable(app_main):
        _fail("arstudio.qt.app has no main(); the studio cannot start")
        return 1
    return int(app_main(list(args.studio_args)) or 0)


# ----------------------------------------------------------------------------------------------- train

def _parse_config(items: Sequence[str], cls: type) -> dict[str, Any]:
    """KEY=VALUE pairs (values as JSON, else strings), checked against the fields of the model's config dataclass."""
    from arstudio.core.protocol import config_keys

    known = config_keys(cls.config_class)
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--config takes KEY=VALUE, got {item!r}")
        if key not in known:
            raise ValueError(f"unknown config key {key!r} for {getattr(cls, 'kind_name', cls.__name__)} "
                             f"(known: {', '.join(known)})")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _default_out(kind: str, data: str) -> Path:
    """A new file in the user's folder whose name neither overwrites nor is shadowed by another checkpoint."""
    from arstudio.core.catalog import SHIPPED_DIR, user_models_dir

    d = user_models_dir()
    p, i = d / f"{kind}-{data}.safetensors", 2
    while p.exists() or (SHIPPED_DIR / p.name).exists():
        p, i = d / f"{kind}-{data}-{i}.safetensors", i + 1
    return p


def cmd_train(args: argparse.Namespace) -> int:
    """Train a model of KIND on a data set, save the checkpoint, print held-out NLL."""
    from arstudio.core.checkpoint import save_checkpoint
    from arstudio.core.device import choose_device, set_threads
    from arstudio.core.registry import get
    from arstudio.data.datasets import get_dataset
    from arstudio.io.atomic import check_writable
    from arstudio.core.validate import number
    from arstudio.train import TrainConfig, train_kind

    set_threads(default=None)  # ARSTUDIO_THREADS if set, else torch's own choice

    kind = get(args.kind)
    data = get_dataset(args.data or kind.default_data)
    config = _parse_config(args.config, kind.cls)
    defaults = {**TrainConfig().__dict__, **kind.train_defaults}
    overrides = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed}
    for k, v in overrides.items():
        if v is not None:
            defaults[k] = v
    flags = {"steps": "--steps", "batch_size": "--batch-size", "lr": "--lr", "seed": "--seed"}
    number(args.nproc, "--nproc", 1, 256, integer=True)
    defaults["device"] = str(choose_device(args.device))
    try:
        train = TrainConfig(**defaults)
    except ValueError as e:  # name the option, not the field
        msg = str(e).replace("the learning rate (lr)", "lr")
        key = msg.split(" ", 1)[0]
        raise ValueError(msg.replace(key, flags.get(key, key), 1)) from None
    out = Path(args.out) if args.out else _default_out(kind.name, data.name)
    check_writable(out, ".safetensors", make_folders=True)  # fail before training, not after
    kind.build({**data.model_config(), **config})  # a bad config fails here, before any training
    from arstudio.train.progress import training_bar

    bar, callbacks = training_bar(train.steps, f"train {kind.name}")
    print(f"training {kind.name} on {data.name} ({len(data.train)} train / {len(data.valid)} valid / "
          f"{len(data.test)} test) for {train.steps} steps on {train.device}", file=sys.stderr)
    from arstudio.train import distributed

    try:
        if distributed.launched_by_torchrun():  # one process of a torchrun group: rank 0 saves and reports
            meta = distributed.train_under_launcher(kind.name, data.name, config, train, args.recipe, out, callbacks)
            if meta is None:
                return 0
        elif args.nproc > 1:
            meta = distributed.train_distributed(kind.name, data.name, config, train, args.recipe, out, args.nproc)
        else:
            model, meta = train_kind(kind.name, data.name, config, train, recipe=args.recipe, callbacks=callbacks)
            save_checkpoint(out, model, meta)
    finally:
        bar.close()
    from arstudio.core.modality import example_unit, step_unit

    m, per = meta.metrics, step_unit(kind.modality)
    print(f"{kind.name} on {data.name}: test NLL {m['test_nats']:.3f} nats/{example_unit(kind.modality)}, "
          f"{m['test_bits_per_dim']:.4f} bits/{per} (valid {m['valid_nats']:.3f} nats, "
          f"{m['valid_bits_per_dim']:.4f} bits/{per})")
    print(f"saved {out}")
    return 0


# ---------------------------------------------------------------------------------------------- sample

def _load(args: argparse.Namespace) -> tuple[Path, Any, Any]:
    from arstudio.core.catalog import resolve
    from arstudio.core.device import choose_device
    from arstudio.core.formats import open_checkpoint

    path = resolve(args.checkpoint)
    model, meta = open_checkpoint(path, choose_device(args.device))  # a .safetensors file or a GPT-2 folder
    return path, model, meta


def cmd_sample(args: argparse.Namespace) -> int:
    """Sample from a checkpoint and export the result in its modality's format (PNG, text, ...)."""
    from arstudio.core.modality import get_modality, plural
    from arstudio.core.validate import MAX_SEED, number
    from arstudio.io.atomic import check_writable
    from arstudio.modalities import policy_from_args, refuse_foreign_options

    policy_from_args(args)  # bad sampling options fail before loading anything
    number(args.seed, "--seed", 0, MAX_SEED, integer=True)
    check_writable(args.out)
    path, model, meta = _load(args)
    modality = get_modality(model.spec.layout.modality)
    refuse_foreign_options(args, "sample", modality.name, path)
    if modality.sample_cli is None:
        raise ValueError(f"{path.name}: sampling {modality.name} models from the command line is not supported")
    modality.format_for(args.out)
    text = modality.sample_cli(args, path, model, meta)
    print(f"wrote {args.out} ({plural(args.n, modality.name + ' sample')} from {path.stem}, seed {args.seed}, "
          f"policy {text.get('arstudio:policy', '')})")
    return 0


# ---------------------------------------------------------------------------------------------- replay

def cmd_replay(args: argparse.Namespace) -> int:
    """Regenerate an exported file from the recipe in its metadata, byte for byte."""
    from arstudio.core.device import choose_device
    from arstudio.core.files import same_contents
    from arstudio.core.replay import ReplayError, find_checkpoint, read_recipe, regenerate_run
    from arstudio.io.atomic import check_writable
    from arstudio.io.export import RunDetail, check_suffix, export_samples
    from arstudio.core.formats import open_checkpoint

    recipe = read_recipe(args.file)
    check_writable(args.out)
    check_suffix(args.out, recipe.modality)
    path = find_checkpoint(recipe, args.checkpoint)
    model, meta = open_checkpoint(path, choose_device(args.device))
    if model.spec.layout.modality != recipe.modality:
        raise ValueError(f"{path.name}: is a {model.spec.layout.modality} model, but the export is {recipe.modality}")
    from arstudio.core.modality import plural
    from arstudio.train.progress import ProgressBar

    total = model.layout.length if recipe.steps is None else recipe.steps
    try:
        with ProgressBar(total, f"replay {plural(recipe.batch, 'sample')}", unit="steps") as bar:
            run = regenerate_run(model, recipe, on_step=lambda step: bar.update(step.t + 1))
    except ValueError as e:  # a recipe that does not fit the model: name the file
        raise ReplayError(f"{args.file}: {e}") from None
    export_samples(args.out, model.spec, run.x, recipe.to_text(), RunDetail(run.log_prob, run.given, run.prefix_len))
    steps = "all" if recipe.steps is None else str(recipe.steps)
    same = same_contents(args.file, args.out)
    samples = plural(recipe.batch, f"{recipe.modality} sample")
    print(f"wrote {args.out}: replayed {args.file} ({samples} from {path.stem}, "
          f"seed {recipe.seed}, {steps} steps); " + ("it matches the file byte for byte" if same else
                                                      "it DIFFERS from the file"))
    if not same:
        print(f"{PROG}: warning: {args.out} differs from {args.file}: the file's content or recipe was edited after "
              "export, or another arstudio version made it", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------------------------ eval

def cmd_eval(args: argparse.Namespace) -> int:
    """Recompute held-out NLL from the data set, on the split the checkpoint recorded."""
    from arstudio.core.device import set_threads
    from arstudio.core.modality import get_modality

    set_threads(default=None)  # ARSTUDIO_THREADS if set, else torch's own choice
    path, model, meta = _load(args)
    own = get_modality(model.spec.layout.modality).eval_cli
    status = own(args, path, model, meta) if own is not None else None
    return status if status is not None else eval_checkpoint(args, path, model, meta)


# ----------------------------------------------------------------------------------------------- bench

def cmd_bench(args: argparse.Namespace) -> int:
    """Run benchmarks (or read their JSON lines) and print a table, JSON lines or markdown."""
    from arstudio.bench.run import run_cli

    return run_cli(args)


# ---------------------------------------------------------------------------------------------- parser

def _add_modality_args(command: str, parser: argparse.ArgumentParser) -> None:
    """Each installed modality's own options of ``sample`` / ``eval`` (e.g. --prompt for text)."""
    from arstudio.core.modality import modalities

    for m in modalities().values():
        if m.add_cli_args is not None:
            m.add_cli_args(command, parser)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    p = _Parser(prog=PROG, description="Watch autoregressive models generate, one step at a time. "
                                       "With no command, opens the studio.")
    p.add_argument("--version", action="version", version=f"%(prog)s {arstudio.__version__}")
    p.set_defaults(func=cmd_studio, studio_args=[])
    sub = p.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("studio", help="open the studio (the default)")
    s.add_argument("studio_args", nargs="*", metavar="ARG", help="passed on to the studio")
    s.set_defaults(func=cmd_studio)

    s = sub.add_parser("list", help="list shipped and user checkpoints")
    s.add_argument("--json", action="store_true", help="one JSON object per checkpoint")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("train", help="train a model and save a checkpoint")
    s.add_argument("kind", metavar="KIND", help="model kind, e.g. nade, made, fvsbn")
    s.add_argument("--data", metavar="NAME", help="data set (default: the kind's own)")
    s.add_argument("--steps", type=int, help="optimizer steps (default: the kind's recipe)")
    s.add_argument("--batch-size", type=int)
    s.add_argument("--lr", type=float, help="Adam learning rate")
    s.add_argument("--seed", type=int)
    s.add_argument("--config", metavar="KEY=VALUE", action="append", default=[],
                   help="model config entry (value as JSON), e.g. --config hidden=64; repeatable")
    s.add_argument("--out", metavar="PATH", help="checkpoint path (default: your models folder)")
    s.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: CUDA if present)")
    s.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="train with N processes (DistributedDataParallel: gloo on CPU, NCCL on GPUs); under "
                        "torchrun the group comes from its environment instead")
    s.set_defaults(func=cmd_train)

    for name, helptext in (("sample", "sample from a checkpoint into a file"),
                           ("eval", "held-out NLL of a checkpoint")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("checkpoint", metavar="CHECKPOINT", help="a .safetensors path or a checkpoint name")
        s.add_argument("--device", help="cpu, cuda ... (default: CUDA if present)")
        if name == "sample":
            s.add_argument("--out", metavar="FILE", required=True, help="output file in the model's format (.png for images, .txt or .json for text)")
            s.add_argument("--n", type=int, default=16, help="number of samples (default 16)")
            s.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same file")
            s.add_argument("--temperature", type=float, default=1.0, help="0 means greedy")
            s.add_argument("--top-k", type=int, default=0, help="keep the k likeliest values (0: off)")
            s.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1: off)")
            _add_modality_args(name, s)
            s.set_defaults(func=cmd_sample)
        else:
            s.add_argument("--split", choices=("test", "valid"), default="test")
            s.add_argument("--json", action="store_true", help="one JSON object")
            s.add_argument("--limit", type=int, metavar="N",
                           help="score only the first N examples of the split (a quick look)")
            _add_modality_args(name, s)
            s.set_defaults(func=cmd_eval)

    s = sub.add_parser("replay", help="regenerate an exported file from the recipe it records")
    s.add_argument("file", metavar="FILE", help="a file arstudio exported (.png, or a text's .json)")
    s.add_argument("--out", metavar="COPY", required=True, help="where to write the regenerated copy")
    s.add_argument("--checkpoint", metavar="CHECKPOINT",
                   help="the checkpoint to use (default: found by its sha256 among shipped and user checkpoints)")
    s.add_argument("--device", help="cpu, cuda ... (default: CUDA if present)")
    s.set_defaults(func=cmd_replay)

    add_compare_parser(sub)  # arstudio compare A B (arstudio.cli_compare)

    s = sub.add_parser("bench", help="speed benchmarks, ratios measured in one run")
    s.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    s.add_argument("--json", action="store_true", help="one JSON object per measurement")
    s.add_argument("--markdown", action="store_true", help="a markdown table (for the README)")
    s.add_argument("--update", metavar="FILE", help="write the markdown table between the "
                   "<!-- bench:begin --> and <!-- bench:end --> markers of FILE (e.g. README.md)")
    s.add_argument("--from", dest="from_file", metavar="FILE", help="read JSON lines (- for stdin) instead of running")
    s.add_argument("--quick", action="store_true", help="small sizes and short timings (a smoke run)")
    s.add_argument("--threads", type=int, help="torch CPU threads (default: $ARSTUDIO_THREADS, else 1, as the studio)")
    s.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    s.set_defaults(func=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``arstudio`` and ``python -m arstudio``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["studio"]:  # everything after it belongs to the studio, options included
            return cmd_studio(argparse.Namespace(studio_args=argv[1:]))
        args = build_parser().parse_args(argv)
        args.recipe = shlex.join([PROG, *argv])
        return int(args.func(args) or 0)
    except UsageError as e:
        print(e, file=sys.stderr)
        return 2
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except BrokenPipeError:  # `arstudio list | head`: the reader has gone; nothing to report
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 0
    except _errors() as e:
        if os.environ.get("ARSTUDIO_DEBUG"):
            raise
        _fail(_describe(e))
        return 1
    except Exception as e:  # a bug: still one line, with a way to see the traceback
        if os.environ.get("ARSTUDIO_DEBUG"):
            raise
        _fail(f"internal error: {type(e).__name__}: {e} (run with ARSTUDIO_DEBUG=1 for the traceback)")
        return 3
