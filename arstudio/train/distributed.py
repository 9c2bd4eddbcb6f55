"""Training on several processes (and machines) with torch.distributed DistributedDataParallel.

``arstudio train KIND --nproc N`` spawns N processes on this machine (torch.multiprocessing);
under ``torchrun`` (which sets RANK, WORLD_SIZE, MASTER_ADDR ...) each process joins the group
that torchrun describes, on one machine or many. Gloo on CPUs, NCCL on GPUs (one per process).

Every process draws the same global batch from the same seed and trains on its slice of it
(``Trainer.shard``); DDP averages the gradients, so N processes take the same steps as one
process with the whole batch, up to float rounding. Only rank 0 writes the checkpoint.
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from arstudio.core.checkpoint import CheckpointMeta, read_meta, save_checkpoint
from arstudio.train.fit import TrainConfig, Trainer, train_kind
from arstudio.train.progress import training_bar


class _Loss(nn.Module):
    """The model's training loss as a forward pass, so that DDP sees (and syncs) it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, cond: Any = None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.model.training_loss(x, cond, generator=generator)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def launched_by_torchrun() -> bool:
    """True inside a process that torchrun (or another launcher) started as part of a group."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1 and "RANK" in os.environ


def backend_for(device: str) -> str:
    """NCCL for CUDA devices, gloo otherwise."""
    return "nccl" if device.startswith("cuda") else "gloo"


def shard_trainer(trainer: Trainer, rank: int, world: int) -> None:
    """Make ``trainer`` train on its slice of each batch, with DDP averaging the gradients."""
    if trainer.config.batch_size % world:
        raise ValueError(f"the batch size ({trainer.config.batch_size}) must be a multiple of the number of "
                         f"processes ({world})")
    device = torch.device(trainer.config.device)
    ddp = nn.parallel.DistributedDataParallel(_Loss(trainer.model),
                                              device_ids=[device.index] if device.type == "cuda" else None)
    trainer.shard = (rank, world)
    trainer.loss_module = lambda x, cond, generator=None: ddp(x, cond, generator=generator)

    def mean_over_ranks(v: torch.Tensor) -> torch.Tensor:
        v = v.detach().clone()
        dist.all_reduce(v)
        return v / world

    trainer.reduce = mean_over_ranks


def train_in_group(kind: str, data: str | None, config: dict[str, Any] | None, train: TrainConfig, recipe: str,
                   out: str | os.PathLike, callbacks: dict[str, list[Any]] | None = None) -> CheckpointMeta | None:
    """Train as one process of an initialised group; rank 0 saves ``out`` and returns the metadata."""
    rank, world = dist.get_rank(), dist.get_world_size()
    model, meta = train_kind(kind, data, config, train, recipe, callbacks if rank == 0 else None,
                             setup=lambda tr: shard_trainer(tr, rank, world))
    meta.extra["distributed"] = {"world_size": world, "backend": dist.get_backend()}
    if rank == 0:
        save_checkpoint(out, model, meta)
    dist.barrier()
    return meta if rank == 0 else None


def _device_for(train: TrainConfig, local_rank: int) -> TrainConfig:
    if train.device.startswith("cuda"):
        return replace(train, device=f"cuda:{local_rank}")
    return train


def _spawned(rank: int, world: int, addr: str, port: int, args: dict[str, Any]) -> None:
    """Body of each spawned process."""
    os.environ.update(MASTER_ADDR=addr, MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(int(args.pop("threads")))
    train = _device_for(TrainConfig(**args.pop("train")), rank)
    if train.device.startswith("cuda"):
        torch.cuda.set_device(torch.device(train.device))
    torch.manual_seed(train.seed)  # the same initial weights in every process (DDP also broadcasts rank 0's)
    dist.init_process_group(backend_for(train.device), rank=rank, world_size=world)
    bar, callbacks = (None, None)
    if rank == 0:  # one bar for the group
        bar, callbacks = training_bar(train.steps, f"train {args['kind']} ({world} processes)")
    try:
        train_in_group(train=train, callbacks=callbacks, **args)
    finally:
        if bar is not None:
            bar.close()
        dist.destroy_process_group()


def train_distributed(kind: str, data: str | None, config: dict[str, Any] | None, train: TrainConfig, recipe: str,
                      out: str | os.PathLike, nproc: int, addr: str = "127.0.0.1", port: int | None = None,
                      threads: int | None = None) -> CheckpointMeta:
    """Spawn ``nproc`` processes on this machine that train together; return the saved checkpoint's metadata."""
    import torch.multiprocessing as mp

    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    if train.batch_size % nproc:
        raise ValueError(f"the batch size ({train.batch_size}) must be a multiple of the number of processes ({nproc})")
    if train.device.startswith("cuda") and nproc > torch.cuda.device_count():
        raise ValueError(f"--nproc {nproc} needs {nproc} GPUs; this machine has {torch.cuda.device_count()}")
    args = {"kind": kind, "data": data, "config": config, "train": asdict(train), "recipe": recipe, "out": str(out),
            "threads": threads or torch.get_num_threads()}
    mp.spawn(_spawned, args=(nproc, addr, port or free_port(addr), args), nprocs=nproc, join=True)
    return read_meta(Path(out))


def train_under_launcher(kind: str, data: str | None, config: dict[str, Any] | None, train: TrainConfig,
                         recipe: str, out: str | os.PathLike,
                         callbacks: dict[str, list[Any]] | None = None) -> CheckpointMeta | None:
    """Join the group a launcher such as torchrun describes in the environment, and train."""
    local = int(os.environ.get("LOCAL_RANK", "0") or 0)
    train = _device_for(train, local)
    if train.device.startswith("cuda"):
        torch.cuda.set_device(torch.device(train.device))
    torch.manual_seed(train.seed)
    dist.init_process_group(backend_for(train.device))
    try:
        return train_in_group(kind, data, config, train, recipe, out, callbacks)
    finally:
        dist.destroy_process_group()
