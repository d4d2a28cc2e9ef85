"""``python tools/study.py --help``: see :mod:`handkit.tools.study`."""
from handkit.tools.study import main

if __name__ == '__main__':
    main()
