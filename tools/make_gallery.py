"""``python tools/make_gallery.py --help``: see :mod:`handkit.tools.make_gallery`."""
from handkit.tools.make_gallery import main

if __name__ == '__main__':
    main()
