"""The final model as one self-describing file: ``model.safetensors``.

safetensors holds only tensors and a str -> str metadata table, so opening a model can never
run code, and the metadata carries everything needed to rebuild the network without flags:

| key | value |
|---|---|
| ``format`` | ``dasr-model`` |
| ``format_version`` | ``1`` |
| ``arch`` | ``rrdbnet`` |
| ``scale`` | the upscaling factor, e.g. ``4`` |
| ``hyperparameters`` | JSON: ``RRDBNet`` constructor arguments (scale, num_features, ...) |
| ``weights`` | which weights these are (``params_ema``: the EMA of the generator) |
| ``preset`` | the preset the run started from |
| ``config`` | JSON: the effective configuration of the run |
| ``training`` | JSON: a summary of the training data and iterations |

The tensors are the RRDBNet state dict under BasicSR's names, so other tools that read
BasicSR/Real-ESRGAN weights can read the file too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import safe_open
from safetensors.torch import save

from dasr.archs.registry import build_arch
from dasr.archs.rrdbnet import RRDB_ARCH, RRDBNet
from dasr.archs.state_dict import fit_state_dict
from dasr.errors import DasrError
from dasr.files.atomic import atomic_write
from dasr.files.checkpoint import load_safetensors

MODEL_FORMAT = "dasr-model"
MODEL_FORMAT_VERSION = "1"
MODEL_FILE_NAME = "model.safetensors"


def save_model(
    path: Path, generator: RRDBNet, *, weights: str, preset: str, config: dict[str, Any], training: dict[str, Any]
) -> None:
    """Write the model file atomically (a half-written model never replaces a good one)."""
    metadata = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "arch": RRDB_ARCH,
        "scale": str(generator.scale),
        "hyperparameters": json.dumps(generator.hyperparameters()),
        "weights": weights,
        "preset": preset,
        "config": json.dumps(config),
        "training": json.dumps(training),
    }
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in generator.state_dict().items()}
    with atomic_write(path, "wb") as handle:
        handle.write(save(tensors, metadata=metadata))


def resolve_model_path(path: Path, option: str = "--model") -> Path:
    """A run folder means its ``model.safetensors``; a file is taken as it is."""
    path = Path(path)
    if path.is_dir():
        candidate = path / MODEL_FILE_NAME
        if not candidate.is_file():
            raise DasrError(f"{option}: run folder '{path}' holds no {MODEL_FILE_NAME} (has 'dasr fit' finished?)")
        return candidate
    if not path.is_file():
        raise DasrError(f"{option}: '{path}' does not exist")
    return path


def read_model_metadata(path: Path) -> dict[str, Any]:
    """The metadata of a model file, JSON fields decoded; a damaged or foreign file is one line."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as error:  # noqa: BLE001 -- safetensors raises several types on damaged files
        raise DasrError(f"cannot read model file '{path}': {str(error).splitlines()[0] if str(error) else error!r}") from None
    if metadata.get("format") != MODEL_FORMAT:
        raise DasrError(f"'{path}' is not a dasr model file (no '{MODEL_FORMAT}' metadata)")
    decoded: dict[str, Any] = dict(metadata)
    try:
        for key in ("hyperparameters", "config", "training"):
            decoded[key] = json.loads(metadata[key])
        decoded["scale"] = int(metadata["scale"])
    except (KeyError, ValueError) as error:
        raise DasrError(f"model file '{path}' has damaged metadata ({type(error).__name__}: {error})") from None
    return decoded


def load_model_file(path: Path, option: str = "--model") -> tuple[RRDBNet, dict[str, Any]]:
    """The network of a model file (or run folder), in eval mode, and its metadata."""
    path = resolve_model_path(path, option)
    metadata = read_model_metadata(path)
    hyperparameters, arch = metadata["hyperparameters"], metadata.get("arch", RRDB_ARCH)
    try:
        generator = build_arch(arch, **hyperparameters)
    except (TypeError, ValueError, DasrError) as error:
        raise DasrError(f"model file '{path}' describes no valid {arch} ({hyperparameters}): {error}") from None
    state, _ = load_safetensors(path, "model file")
    fit_state_dict(generator, state, f"model file '{path}'")
    return generator.eval(), metadata
