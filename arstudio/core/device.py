"""Device choice: CUDA when there is one, else the CPU; ``ARSTUDIO_DEVICE`` or an argument overrides."""

from __future__ import annotations

import os

import torch


def choose_device(preferred: str | None = None) -> torch.device:
    """The device to run models on; raise ValueError for a device that is not available."""
    env = os.environ.get("ARSTUDIO_DEVICE", "").strip()
    name = preferred or env or ("cuda" if torch.cuda.is_available() else "cpu")
    where = "" if preferred else " (from ARSTUDIO_DEVICE)" if env else ""
    try:
        dev = torch.device(str(name).strip())
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"unknown device {name!r}{where}; use cpu, cuda, cuda:N or mps") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device {name!r}{where} is not supported; use cpu, cuda, cuda:N or mps")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}{where} was asked for, but this machine has no CUDA GPU (use 'cpu')")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {name!r}{where}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                         f"numbered from 0")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r}{where} was asked for, but MPS is not available here (use 'cpu')")
    return dev


def describe(device: torch.device) -> str:
    """A short human description of a device, for the status bar."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'' if n == 1 else 's'})"


def env_threads(default: int | None = 1) -> int | None:
    """Torch CPU threads asked for by ``ARSTUDIO_THREADS`` (a whole number >= 1), else ``default``.

    Interactive sampling and the benchmarks default to one thread: a step is a handful of tiny ops,
    and on a busy machine several intra-op threads spin against each other (measured up to 30x
    slower on 2 shared cores). Training passes ``default=None`` to keep torch's own choice.
    """
    raw = os.environ.get("ARSTUDIO_THREADS", "").strip()
    if not raw:
        return default
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"ARSTUDIO_THREADS must be a whole number, got {raw!r}") from None
    if n < 1:
        raise ValueError(f"ARSTUDIO_THREADS must be >= 1, got {n}")
    return n


def set_threads(default: int | None = 1) -> int:
    """Apply ``env_threads(default)`` to torch and return the thread count in force."""
    n = env_threads(default)
    if n is not None:
        torch.set_num_threads(n)
    return torch.get_num_threads()
