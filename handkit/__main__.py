"""``python -m handkit SUBCOMMAND ...``: the ``handkit`` command."""
import sys

from handkit.cli import main

sys.exit(main())
