"""Weights the SR network can start from, by name: what ``srn.init`` accepts.

- ``none`` (or null): random initialisation;
- ``builtin:rrdb-small-x4``, ``builtin:rrdb-small-x2``: PSNR-oriented RRDB weights shipped in
  the package at the size of the CPU presets; ``builtin:rrdb-small`` picks the one of the
  configured scale (:mod:`dasr.weights.builtin`);
- a public model's name, e.g. ``RealESRNet_x4plus``: the file its project publishes, kept in
  torch's hub cache (:mod:`dasr.weights.public`);
- a path to RRDB weights in any naming :mod:`dasr.archs.weights` reads.

ESRGAN and Real-ESRGAN both start their GAN stage from a PSNR-trained network; a name saves
the user from finding, downloading and naming the file. The package sits at the bottom of the
layers (it only maps names to files), so every stage may resolve names through it.
"""

from dasr.weights.builtin import BUILTIN_PREFIX, builtin_file, builtin_names
from dasr.weights.public import PUBLIC_WEIGHTS, PublicWeights, public_file
from dasr.weights.resolve import NO_INIT, resolve_init

__all__ = [
    "BUILTIN_PREFIX",
    "NO_INIT",
    "PUBLIC_WEIGHTS",
    "PublicWeights",
    "builtin_file",
    "builtin_names",
    "public_file",
    "resolve_init",
]
