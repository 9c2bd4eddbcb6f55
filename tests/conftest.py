"""Shared test set-up: Qt runs offscreen, so the suite needs no screen; torch uses one thread.

One thread, as the studio and the benchmarks use: the tests' models are tiny, and on a busy
2-core machine torch's default of two threads makes small convolutions many times slower.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The studio samples in a child process; most GUI tests drive the same loop in a worker thread,
# which starts in milliseconds instead of ~2 s. tests/qt/test_sampler_process.py covers the process.
os.environ.setdefault("ARSTUDIO_SAMPLER", "thread")

import torch  # noqa: E402

torch.set_num_threads(1)

# Every wait in the tests is a guard against a hang, never a time bound: a wait returns as soon as
# its condition holds, and on a busy machine a model load or a run may take many times longer than
# on a quiet one. So no wait gives up before HANG_GUARD_MS, whatever timeout a test wrote.
HANG_GUARD_MS = 120_000
try:
    from pytestqt.qtbot import QtBot
except ImportError:  # pytest-qt absent: the GUI tests are not collected anyway
    QtBot = None
if QtBot is not None:
    _wait_until, _wait_signal = QtBot.waitUntil, QtBot.waitSignal

    def _guarded_wait_until(self, callback, *, timeout: int = 5000):  # noqa: ANN001, ANN202 (pytest-qt's API)
        return _wait_until(self, callback, timeout=max(timeout, HANG_GUARD_MS))

    def _guarded_wait_signal(self, signal, *, timeout: int = 5000, **kwargs):  # noqa: ANN001, ANN003, ANN202
        return _wait_signal(self, signal, timeout=max(timeout, HANG_GUARD_MS), **kwargs)

    QtBot.waitUntil, QtBot.waitSignal = _guarded_wait_until, _guarded_wait_signal

import tempfile  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def make_read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], Path]]:
    """Make a folder read-only for this process: chmod 0500, and where that stops nothing (root) refuse as the OS would.

    Root ignores permission bits, so for root ``os.access`` answers "no" for writes under the
    folder and ``tempfile.mkstemp`` there raises PermissionError: what a normal user meets.
    """
    folders: list[Path] = []
    real_access, real_mkstemp = os.access, tempfile.mkstemp

    def under(p: object) -> bool:
        try:
            q = Path(os.fspath(p)).resolve()  # type: ignore[arg-type]
        except (TypeError, OSError):
            return False
        return any(q == f or f in q.parents for f in folders)

    def access(p: object, mode: int, *args: object, **kwargs: object) -> bool:
        if mode & os.W_OK and under(p):
            return False
        return real_access(p, mode, *args, **kwargs)  # type: ignore[arg-type]

    def mkstemp(*args: object, dir: object = None, **kwargs: object) -> tuple[int, str]:  # noqa: A002 (its name)
        if dir is not None and under(dir):
            raise PermissionError(13, "Permission denied", os.fspath(dir))  # type: ignore[arg-type]
        return real_mkstemp(*args, dir=dir, **kwargs)  # type: ignore[arg-type, call-overload]

    def make(folder: Path) -> Path:
        folder.chmod(0o500)
        folders.append(folder.resolve())
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            monkeypatch.setattr(os, "access", access)
            monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        return folder

    yield make
    for f in folders:
        f.chmod(0o700)


GPT2_LINES = ["def f(x):\n    return x + 1\n", "The quick brown fox jumps over the lazy dog.\n",
              "for i in range(10):\n    print(i)\n"] * 20


@pytest.fixture(scope="session")
def gpt2_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random GPT-2 saved by transformers, with a byte-level BPE tokenizer saved beside it."""
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    d = tmp_path_factory.mktemp("gpt2")
    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(GPT2_LINES, vocab_size=300, show_progress=False, special_tokens=["<|endoftext|>"])
    bpe.save_model(str(d))  # vocab.json + merges.txt
    eot = bpe.token_to_id("<|endoftext|>")
    cfg = transformers.GPT2Config(vocab_size=bpe.get_vocab_size(), n_positions=32, n_embd=32, n_layer=2, n_head=4,
                                  bos_token_id=eot, eos_token_id=eot)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # GPT-2's init leaves biases and LayerNorms trivial: perturb everything
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(str(d))
    return d
