"""``python -m cfc_ref.cli``: the ``cfc-ref`` command."""

import sys

from cfc_ref.cli import main

sys.exit(main())
