"""The ``handkit`` command: ``handkit SUBCOMMAND [options]``.

Each subcommand runs the same ``main(argv)`` as the matching
``tools/*.py`` of a clone (``handkit test CONFIG CKPT`` is
``python tools/test.py CONFIG CKPT``), so options, outputs, errors and exit
codes are the same. A subcommand's module is imported only when it runs:
``handkit --help`` imports no torch.

A config is a file, a path inside the package's configs
(``handkit train nsrm/lpm_g1g6_panoptic.py``, from any folder) or
``handkit::nsrm/lpm_g1g6_panoptic.py``
(:func:`handkit.config_files.resolve_config_path`).
"""
import importlib
import sys
from typing import List, Optional

#: subcommand -> (module of handkit.tools, one line for ``handkit --help``)
COMMANDS = {
    'train': ('train', 'train a model from a config'),
    'test': ('test', 'test a checkpoint: the PCK / 3D tables, --out results'),
    'demo': ('demo', 'find hands in images, a video or a webcam and draw '
             'them'),
    'export': ('export_onnx', 'export a model to ONNX and check its parity'),
    'export-tflite': ('export_tflite', "export a MediaPipe-architecture "
                      "model into MediaPipe's .tflite graph (LiteRT)"),
    'quickstart': ('quickstart', 'train and test NSRM on synthetic hands '
                   '(about 9 minutes on 2 CPU cores)'),
    'convert-mediapipe': ('convert_mediapipe', "convert MediaPipe Hands' "
                          'TFLite models into handkit checkpoints'),
    'convert-mano': ('convert_mano', "convert MANO's model file into "
                     "handkit's .npz hand model"),
    'pseudo-label': ('pseudo_label', 'label your own photos with a teacher '
                     '(COCO keypoints)'),
    'study': ('study', 'run a grid of configs x seeds and tabulate it'),
    'check-data': ('check_data', "decode every image of a config's datasets "
                   'and check sizes and boxes'),
    'make-synthetic': ('make_synthetic', 'write synthetic hands to disk as a '
                       'COCO-style dataset'),
    'build-open-hand': ('build_open_hand', "rebuild handkit's open hand "
                        'model (--check: compare with the shipped one)'),
}


def usage() -> str:
    from handkit.version import __version__
    width = max(len(name) for name in COMMANDS)
    lines = [f'usage: handkit {{{",".join(COMMANDS)}}} ...', '',
             f'handkit {__version__}: hand pose estimation on PyTorch and '
             'mmengine.', '', 'subcommands (each takes --help):']
    lines += [f'  {name:<{width}}  {help_}'
              for name, (_, help_) in COMMANDS.items()]
    lines += ['', 'A config is a file, a path inside handkit\'s configs '
              '(nsrm/lpm_g1g6_panoptic.py) or handkit::REL.']
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``handkit SUBCOMMAND ...``; the exit code (a tool's own
    ``SystemExit`` passes through)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ('-h', '--help'):
        print(usage())
        return 0 if argv else 2
    if argv[0] in ('-V', '--version'):
        from handkit.version import __version__
        print(f'handkit {__version__}')
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"handkit: error: unknown subcommand '{name}' (choose from "
              f'{", ".join(COMMANDS)})', file=sys.stderr)
        return 2
    module = importlib.import_module(f'handkit.tools.{COMMANDS[name][0]}')
    program = sys.argv[0]
    sys.argv[0] = f'handkit {name}'  # argparse's prog in usage lines
    try:
        result = module.main(rest)
    finally:
        sys.argv[0] = program
    # an int is an exit code (check-data: 0, it exits 1 itself on bad data)
    return result if type(result) is int else 0


if __name__ == '__main__':
    sys.exit(main())
