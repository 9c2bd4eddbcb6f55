"""The GUI-free core stays GUI-free: import it with Qt blocked, and run the import-linter contracts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BLOCK_QT = """
import importlib.abc, sys
class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'PySide6', 'pyqtgraph', 'superqt', 'shiboken6'}:
            raise ImportError(f'Qt is blocked in this test: {name}')
        return None
sys.meta_path.insert(0, BlockQt())
import pkgutil, importlib, arstudio
for mod in pkgutil.walk_packages(arstudio.__path__, 'arstudio.'):
    if mod.name.startswith('arstudio.qt') or mod.name.endswith('__main__'):
        continue
    importlib.import_module(mod.name)
from arstudio.core.registry import kinds
assert kinds(), 'no model kinds registered'
print('ok', len(kinds()))
"""


def test_core_imports_with_qt_blocked() -> None:
    out = subprocess.run([sys.executable, "-c", BLOCK_QT], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ok")


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports (import-linter, a test dependency) is not installed")
    out = subprocess.run([exe, "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
