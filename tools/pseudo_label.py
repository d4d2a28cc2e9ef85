"""``python tools/pseudo_label.py --help``: see :mod:`handkit.tools.pseudo_label`."""
from handkit.tools.pseudo_label import main

if __name__ == '__main__':
    main()
