"""``python tools/build_open_hand.py --help``: see
:mod:`handkit.tools.build_open_hand`."""
import sys

from handkit.tools.build_open_hand import main

if __name__ == '__main__':
    sys.exit(main())
