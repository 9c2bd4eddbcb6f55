"""What the studio remembers between sessions: window layout, recent files (the first is reopened at start),
the last export folder, sampling settings and speed.

Stored with QSettings in an INI file under the platform's config folder (``ARSTUDIO_CONFIG_DIR``
overrides it, as the tests do, so that no test touches a person's settings).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir
from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8
SAMPLING_KEYS = {"samples": int, "seed": int, "temperature": float, "top_k": int, "top_p": float, "rate": float}


def settings_path() -> Path:
    """The INI file the studio's settings live in."""
    base = os.environ.get("ARSTUDIO_CONFIG_DIR") or user_config_dir("arstudio", appauthor=False)
    return Path(base) / "studio.ini"


class StudioSettings:
    """Window state and recent files, read and written through one QSettings object."""

    def __init__(self) -> None:
        self._qs = QSettings(str(settings_path()), QSettings.Format.IniFormat)

    def recent_files(self) -> list[str]:
        """Recently opened checkpoints, newest first, those that still exist."""
        raw = self._qs.value("recent/files", [])
        files = [raw] if isinstance(raw, str) else list(raw or [])
        return [f for f in files if Path(f).exists()][:MAX_RECENT]

    def add_recent(self, path: str | Path) -> list[str]:
        """Put ``path`` first in the recent files; return the new list."""
        p = str(Path(path).resolve())
        files = [p, *(f for f in self.recent_files() if f != p)][:MAX_RECENT]
        self._qs.setValue("recent/files", files)
        self._qs.sync()
        return files

    def export_dir(self) -> Path | None:
        """The folder the last export went to, if it still exists."""
        raw = self._qs.value("paths/export_dir")
        return Path(str(raw)) if raw and Path(str(raw)).is_dir() else None

    def set_export_dir(self, folder: str | Path) -> None:
        """Remember ``folder`` as the one export and replay dialogs open in."""
        self._qs.setValue("paths/export_dir", str(folder))
        self._qs.sync()

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        """Remember the main window's geometry and its docks' layout."""
        self._qs.setValue("window/geometry", geometry)
        self._qs.setValue("window/state", state)
        self._qs.sync()

    def save_sampling(self, values: dict[str, float | int | None]) -> None:
        """Remember the sampling controls (samples, seed, temperature, top_k, top_p, rate; rate None = unlimited)."""
        for k, v in values.items():
            self._qs.setValue(f"sampling/{k}", "unlimited" if v is None else str(v))
        self._qs.sync()

    def sampling(self) -> dict[str, float | int | None]:
        """The remembered sampling controls; entries that are missing or unreadable are left out."""
        out: dict[str, float | int | None] = {}
        for k, cast in SAMPLING_KEYS.items():
            raw = self._qs.value(f"sampling/{k}")
            if raw is None:
                continue
            if k == "rate" and str(raw) == "unlimited":
                out[k] = None
                continue
            try:
                out[k] = cast(str(raw))
            except ValueError:
                continue  # a hand-edited or foreign value: the control keeps its default
        return out

    def window(self) -> tuple[QByteArray | None, QByteArray | None]:
        """The remembered geometry and dock layout, if any."""
        g, s = self._qs.value("window/geometry"), self._qs.value("window/state")
        return (g if isinstance(g, QByteArray) else None, s if isinstance(s, QByteArray) else None)
