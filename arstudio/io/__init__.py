"""Format-independent file helpers: atomic writes, PNG, and the one export path (by the modality's formats)."""

from arstudio.io.atomic import atomic_write, check_writable
from arstudio.io.errors import ExportError
from arstudio.io.export import export_samples
from arstudio.io.png import image_grid, read_png, write_png

__all__ = ["ExportError", "atomic_write", "check_writable", "export_samples", "image_grid", "read_png", "write_png"]
