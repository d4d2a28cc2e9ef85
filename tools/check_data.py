"""``python tools/check_data.py --help``: see :mod:`handkit.tools.check_data`.
"""
from handkit.tools.check_data import main

if __name__ == '__main__':
    main()
