"""``python tools/build_mesh_hierarchy.py --help``: see
:mod:`handkit.tools.build_mesh_hierarchy`."""
import sys

from handkit.tools.build_mesh_hierarchy import main

if __name__ == '__main__':
    sys.exit(main())
