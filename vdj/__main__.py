"""``python -m vdj``: see :mod:`vdj.cli`."""

import sys

from vdj.cli import main

if __name__ == "__main__":
    sys.exit(main())
