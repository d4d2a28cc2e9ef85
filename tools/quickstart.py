"""``python tools/quickstart.py --help``: see :mod:`handkit.tools.quickstart`."""
from handkit.tools.quickstart import main

if __name__ == '__main__':
    main()
