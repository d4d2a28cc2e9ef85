"""``python tools/export_onnx.py --help``: see
:mod:`handkit.tools.export_onnx`."""
from handkit.tools.export_onnx import main

if __name__ == '__main__':
    main()
