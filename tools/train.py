"""``python tools/train.py --help``: see :mod:`handkit.tools.train`."""
from handkit.tools.train import main

if __name__ == '__main__':
    main()
