"""The installed PySide6 keeps Python's reference counts right (6.12.0 did not: see pyproject.toml)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, QObject, Signal


class _Probe(QObject):
    fired = Signal()


def test_emit_and_process_events_do_not_steal_references(qapp) -> None:
    probe = _Probe()
    bools, none = sys.getrefcount(True) + sys.getrefcount(False), sys.getrefcount(None)
    for _ in range(200):
        probe.fired.emit()
        QCoreApplication.processEvents()
    assert sys.getrefcount(True) + sys.getrefcount(False) >= bools - 20
    assert sys.getrefcount(None) >= none - 20
