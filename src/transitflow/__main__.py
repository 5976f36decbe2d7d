"""``python -m transitflow``: the same as the ``transitflow`` command."""

import sys

from transitflow.cli import main

sys.exit(main())
