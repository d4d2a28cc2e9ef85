"""``python tools/demo.py --help``: see :mod:`handkit.tools.demo`."""
from handkit.tools.demo import main

if __name__ == '__main__':
    main()
