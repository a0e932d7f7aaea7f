"""``python -m nb2prod``: the same command line as the ``nb2prod`` script."""

import sys

from .cli import main

sys.exit(main())
