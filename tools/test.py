"""``python tools/test.py --help``: see :mod:`handkit.tools.test`."""
from handkit.tools.test import main

if __name__ == '__main__':
    main()
