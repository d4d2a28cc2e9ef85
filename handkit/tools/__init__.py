"""The command-line tools' logic; ``tools/*.py`` are thin shims over these
``main`` functions, so they can be imported and tested (as MMPose keeps its
logic in the package)."""
