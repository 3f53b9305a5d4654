"""dasr: unsupervised real-world image super-resolution with domain-distance aware training.

The pipeline is laid out in sub-packages, in the order the data flows through them:
``data`` -> ``ops`` / ``archs`` -> ``losses`` -> ``stage1_dsn`` -> ``stage1_5_maps`` ->
``stage2_srn`` -> ``pipeline`` -> ``inference`` -> ``cli``.

``dasr.load_model(path)`` is the entry point for using a trained model; it is imported on first
use, so ``import dasr`` (and ``dasr --version``) stays fast.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_model"]


def __getattr__(name: str) -> Any:
    if name == "load_model":
        from dasr.inference.api import load_model

        return load_model
    raise AttributeError(f"module 'dasr' has no attribute '{name}'")
