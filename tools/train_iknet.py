"""``python tools/train_iknet.py --help``: see
:mod:`handkit.tools.train_iknet`."""
from handkit.tools.train_iknet import main

if __name__ == '__main__':
    main()
