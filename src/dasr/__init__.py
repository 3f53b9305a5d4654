"""dasr: unsupervised real-world image super-resolution with domain-distance aware training.

The pipeline is laid out in sub-packages, in the order the data flows through them:
``data`` -> ``ops`` / ``archs`` -> ``losses`` -> ``stage1_dsn`` -> ``stage1_5_maps`` ->
(stage 2, inference and evaluation follow) -> ``cli``.
"""

__version__ = "0.1.0"
