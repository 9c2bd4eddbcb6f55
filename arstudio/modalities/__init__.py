"""The built-in modalities, one package each: image and text. Each package's ``MODALITY`` object is
an entry point of the ``arstudio.modalities`` group (see ``arstudio.core.modality``).

Helpers here are shared by modality plug-ins' command-line halves.
"""

from __future__ import annotations

import argparse
from typing import Any


def policy_from_args(args: argparse.Namespace) -> Any:
    """The sampling policy of ``arstudio sample``'s --temperature, --top-k and --top-p."""
    from arstudio.core.policy import SamplingPolicy

    return SamplingPolicy(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)


def add_once(parser: argparse.ArgumentParser, *flags: str, **kwargs: Any) -> None:
    """Add an option unless another modality already added it (two modalities may share e.g. --primer)."""
    if any(f in parser._option_string_actions for f in flags):  # noqa: SLF001 (argparse has no public query)
        return
    parser.add_argument(*flags, **kwargs)
