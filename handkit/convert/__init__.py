"""Converting other frameworks' released models into handkit modules.

:mod:`handkit.convert.tflite` reads TFLite flatbuffers;
:mod:`handkit.convert.mediapipe` fills MediaPipe Hands' modules from them,
:mod:`handkit.convert.mediapipe_source` finds and checks the files, and
:mod:`handkit.convert.mediapipe_parity` compares the result with the TFLite
interpreter. ``tools/convert_mediapipe.py`` is the command. This face
imports nothing: the modules need torch, numpy and (lazily) ``tflite``.
"""
