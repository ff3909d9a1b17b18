"""``python -m assisterr_probe``: the same as the ``assisterr-probe`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
