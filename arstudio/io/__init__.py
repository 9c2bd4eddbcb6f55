"""File import and export: PNG (and, as modalities arrive, WAV and MIDI), written atomically."""

from arstudio.io.atomic import atomic_write, check_writable
from arstudio.io.errors import ExportError
from arstudio.io.export import export_samples, exporter_for, register_exporter
from arstudio.io.png import image_grid, read_png, write_png
from arstudio.io import text as _text  # noqa: E402,F401  (registers the text exporter)

__all__ = ["ExportError", "atomic_write", "check_writable", "export_samples", "exporter_for", "image_grid",
           "read_png", "register_exporter", "write_png"]
