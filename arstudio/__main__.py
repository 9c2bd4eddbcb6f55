"""``python -m arstudio``: the same as the ``arstudio`` command."""

import sys

from arstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
