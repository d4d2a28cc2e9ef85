"""``python tools/export_tflite.py --help``: see
:mod:`handkit.tools.export_tflite`."""
from handkit.tools.export_tflite import main

if __name__ == '__main__':
    main()
