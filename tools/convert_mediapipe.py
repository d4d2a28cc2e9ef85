"""``python tools/convert_mediapipe.py --help``: see
:mod:`handkit.tools.convert_mediapipe`."""
from handkit.tools.convert_mediapipe import main

if __name__ == '__main__':
    main()
