"""``python -m simlib.cli``: the same as the ``simlib`` command."""

import sys

from simlib.cli import main

sys.exit(main())
