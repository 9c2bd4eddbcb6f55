"""Model families, one file each; importing this package registers them all."""

from arstudio.models import fvsbn, made, nade  # noqa: F401  (registers the kinds)
