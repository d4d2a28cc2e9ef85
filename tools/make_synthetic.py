"""``python tools/make_synthetic.py --help``: see :mod:`handkit.tools.make_synthetic`."""
from handkit.tools.make_synthetic import main

if __name__ == '__main__':
    main()
