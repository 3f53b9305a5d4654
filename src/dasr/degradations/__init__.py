"""Realistic camera degradations for making real-looking LR sets and paired validation sets.

Operators are plain functions on float32 ``(H, W, 3)`` images in [0, 1] (``blur``, ``resize``,
``noise``, ``jpeg``); a pipeline (``pipeline``) is an ordered list of them with parameter ranges,
drawn per image from a generator seeded by (seed, image index); ``presets`` names the built-in
pipelines. The command is ``dasr degrade``; see docs/degradations.md.

Import the sub-modules directly: this package imports nothing, so reading the preset names
(``dasr degrade --help``) does not load OpenCV and torch with the operators.
"""
