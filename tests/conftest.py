"""Shared test set-up: Qt runs offscreen, so the suite needs no screen; torch uses one thread.

One thread, as the studio and the benchmarks use: the tests' models are tiny, and on a busy
2-core machine torch's default of two threads makes small convolutions many times slower.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402

torch.set_num_threads(1)
