"""Fixtures for the bad-input tests: the command line in-process, a private user folder, tiny checkpoints,
and a writer of safetensors files with any metadata and tensors (valid JSON of the wrong shape included)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save

from arstudio.cli import main
from arstudio.core import registry
from arstudio.core.checkpoint import CheckpointMeta, save_checkpoint

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def user_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ARSTUDIO_USER_MODELS pointed at an empty temporary folder (created)."""
    d = tmp_path / "user-models"
    d.mkdir()
    monkeypatch.setenv("ARSTUDIO_USER_MODELS", str(d))
    monkeypatch.setenv("ARSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    return d


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], user_models: Path) -> Run:
    """Run ``main(argv)``; (exit status, stdout, stderr)."""

    def run(*argv: object) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def one_line(rc: int, err: str, *words: str) -> str:
    """Assert a refused command: exit 1 or 2 (never 3, an internal error), one line on stderr with ``words``."""
    assert rc in (1, 2), (rc, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def tiny_checkpoint(folder: Path, kind: str = "nade", name: str | None = None, **config: Any) -> Path:
    """An untrained model of ``kind`` (its tiny config) saved in ``folder``."""
    k = registry.get(kind)
    torch.manual_seed(0)
    model = k.build({**k.tiny_config, **config})
    meta = CheckpointMeta(kind=kind, config=model.spec.config, data={"name": k.default_data},
                          metrics={"test_nats": 1.0, "test_bits_per_dim": 0.1})
    return save_checkpoint(folder / f"{name or kind}.safetensors", model, meta)


def write_raw(path: Path, tensors: dict[str, torch.Tensor], meta: Any = None, raw_meta: str | None = None) -> Path:
    """A safetensors file whose arstudio metadata is ``meta`` as JSON (or the string ``raw_meta`` as it is)."""
    md = {"arstudio": raw_meta if raw_meta is not None else json.dumps(meta)}
    path.write_bytes(save(tensors, metadata=md))
    return path


def rewrite_meta(good: Path, out: Path, edit: Callable[[dict[str, Any]], Any]) -> Path:
    """A copy of checkpoint ``good`` whose metadata dict is replaced by ``edit(meta)`` (tensors kept)."""
    from safetensors import safe_open

    with safe_open(str(good), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = json.loads(f.metadata()["arstudio"])
    return write_raw(out, tensors, edit(meta))


@pytest.fixture
def nade(tmp_path: Path) -> Path:
    """A tiny untrained NADE checkpoint outside the search folders."""
    d = tmp_path / "ckpt"
    d.mkdir()
    return tiny_checkpoint(d)
