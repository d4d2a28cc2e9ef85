import sys
from pathlib import Path

# tests/tools/tiny_setup.py is imported by the tool tests as a plain module.
sys.path.insert(0, str(Path(__file__).parent / 'tools'))
