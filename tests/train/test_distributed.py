"""DistributedDataParallel: 2 processes (gloo, loopback) take the same steps as 1 process at the same global batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from arstudio.core.checkpoint import load_checkpoint
from arstudio.train.distributed import free_port, launched_by_torchrun, train_distributed
from arstudio.train.fit import TrainConfig


def test_two_processes_give_the_same_loss_curve_as_one(tmp_path: Path) -> None:
    # MADE: its loss also draws a mask set from the trainer's generator, which every process must draw alike
    kind, config = "made", {"hidden": [16], "num_masks": 2}
    train = TrainConfig(steps=12, batch_size=16, lr=1e-2, seed=3, eval_every=4)
    one = train_distributed(kind, "digits", config, train, "test", tmp_path / "one.safetensors", nproc=1, threads=1)
    two = train_distributed(kind, "digits", config, train, "test", tmp_path / "two.safetensors", nproc=2, threads=1)
    assert two.extra["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert one.history["step"] == two.history["step"] == list(range(1, 13))
    np.testing.assert_allclose(two.history["train_nats"], one.history["train_nats"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(two.history["valid_nats"], one.history["valid_nats"], rtol=1e-4, atol=1e-4)
    assert two.history["train_nats"][-1] < two.history["train_nats"][0]  # it learns
    m1, _ = load_checkpoint(tmp_path / "one.safetensors")
    m2, _ = load_checkpoint(tmp_path / "two.safetensors")
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=k)


def test_the_batch_must_split_evenly(tmp_path: Path) -> None:
    train = TrainConfig(steps=2, batch_size=15, seed=0, eval_every=2)
    with pytest.raises(Exception, match="multiple of the number of processes"):
        train_distributed("nade", "digits", {"hidden": 4}, train, "", tmp_path / "x.safetensors", nproc=2, threads=1)


def test_launcher_detection_and_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert not launched_by_torchrun()
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    assert launched_by_torchrun()
    assert 0 < free_port() < 65536
