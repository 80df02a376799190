"""``python -m leaky_control``: the ``leaky-control`` command line."""

import sys

from .cli import main

sys.exit(main())
