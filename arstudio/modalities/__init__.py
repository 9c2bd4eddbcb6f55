"""The built-in modalities, one package each: image and text. Each package's ``MODALITY`` object is
an entry point of the ``arstudio.modalities`` group (see ``arstudio.core.modality``).

Helpers here are shared by modality plug-ins' command-line halves.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def policy_from_args(args: argparse.Namespace) -> Any:
    """The sampling policy of ``arstudio sample``'s --temperature, --top-k and --top-p."""
    from arstudio.core.policy import SamplingPolicy

    try:
        return SamplingPolicy(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
    except ValueError as e:  # name the option as it was typed
        msg = str(e)
        for field, flag in (("temperature", "--temperature"), ("top_k", "--top-k"), ("top_p", "--top-p")):
            if msg.startswith(field):
                msg = flag + msg[len(field):]
        raise ValueError(msg) from None


def add_once(parser: argparse.ArgumentParser, *flags: str, **kwargs: Any) -> None:
    """Add an option unless another modality already added it (two modalities may share e.g. --primer).

    A shared option's help then says what each modality does with it ("audio models: ...; music models: ...").
    """
    actions = parser._option_string_actions  # noqa: SLF001 (argparse has no public query)
    existing = next((actions[f] for f in flags if f in actions), None)
    if existing is None:
        parser.add_argument(*flags, **kwargs)
    elif kwargs.get("help") and kwargs["help"] not in (existing.help or ""):
        existing.help = f"{existing.help}; {kwargs['help']}" if existing.help else kwargs["help"]


def refuse_foreign_options(args: argparse.Namespace, command: str, modality: str, path: Path) -> None:
    """ValueError when an option of another modality was given (``--prompt`` to an image model)."""
    from arstudio.core.modality import modalities

    own: set[str] = set()
    others: dict[str, tuple[str, Any]] = {}  # dest -> (flag, its default)
    for m in modalities().values():
        if m.add_cli_args is None:
            continue
        p = argparse.ArgumentParser(add_help=False)
        m.add_cli_args(command, p)
        flags = {a.dest: (a.option_strings[0], a.default) for a in p._actions if a.option_strings}  # noqa: SLF001
        if m.name == modality:
            own |= set(flags)
        else:
            others.update({d: f for d, f in flags.items() if d not in others})
    for dest, (flag, default) in others.items():
        if dest not in own and getattr(args, dest, default) != default:
            article = "an" if modality[:1] in "aeiou" else "a"
            raise ValueError(f"{flag} does not apply to {path.name}: it is {article} {modality} model")
