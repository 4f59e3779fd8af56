"""``python -m lute``: the same as the ``lute`` command."""

import sys

from lute.cli import main

sys.exit(main())
