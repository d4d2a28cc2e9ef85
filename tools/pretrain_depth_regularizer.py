"""``python tools/pretrain_depth_regularizer.py --help``: see
:mod:`handkit.tools.pretrain_depth_regularizer`."""
from handkit.tools.pretrain_depth_regularizer import main

if __name__ == '__main__':
    main()
