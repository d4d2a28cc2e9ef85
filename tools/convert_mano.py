"""``python tools/convert_mano.py --help``: see
:mod:`handkit.tools.convert_mano`."""
from handkit.tools.convert_mano import main

if __name__ == '__main__':
    main()
