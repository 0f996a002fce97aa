"""``python -m healthmob``: the same as the ``healthmob`` command."""

import sys

from .cli import main

sys.exit(main())
