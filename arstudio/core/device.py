"""Device choice: CUDA when there is one, else the CPU; ``ARSTUDIO_DEVICE`` or an argument overrides."""

from __future__ import annotations

import os

import torch


def choose_device(preferred: str | None = None) -> torch.device:
    """The device to run models on; raise ValueError for a device that is not available."""
    name = preferred or os.environ.get("ARSTUDIO_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for, but this machine has no CUDA GPU (use 'cpu')")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r} was asked for, but MPS is not available here (use 'cpu')")
    return dev


def describe(device: torch.device) -> str:
    """A short human description of a device, for the status bar."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"
