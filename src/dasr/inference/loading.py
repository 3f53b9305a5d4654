"""Finding the SR network in whatever the user points at, so ``dasr sr`` and ``load_model`` take
any of them without flags:

| given | network used |
|---|---|
| ``model.safetensors`` (ours), or a folder holding one (a finished ``dasr fit`` run) | the model file |
| a ``dasr fit`` run folder without a model file yet | ``RUN/srn/checkpoints/best.pth``, else ``last.pth`` |
| a ``dasr train-srn`` run folder | ``RUN/checkpoints/best.pth``, else ``last.pth`` |
| a ``dasr-srn`` checkpoint file | its ``params_ema`` (the EMA generator, as ``dasr fit`` exports) |
| any other RRDB weights file | :func:`dasr.archs.weights.load_rrdb_state`: BasicSR, Real-ESRGAN, ESRGAN, mmsr |

``best.pth`` (the best validated checkpoint) is preferred to ``last.pth`` because training keeps it
for exactly this use. Hyper-parameters come from the model file's metadata or are read off the
tensor shapes, so nothing has to be told. Nothing here ever runs code from a file: model files are
safetensors and checkpoints are read with ``weights_only``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors import safe_open
from torch import Tensor

from dasr.archs.rrdbnet import RRDBNet
from dasr.archs.weights import build_rrdbnet_from_state, load_rrdb_state
from dasr.engine.run_dir import RunDir
from dasr.errors import DasrError
from dasr.files.atomic import PathLike
from dasr.files.checkpoint import SRN_CHECKPOINT, load_checkpoint
from dasr.inference.model_file import MODEL_FILE_NAME, MODEL_FORMAT, load_model_file

_SRN_RUN_FOLDERS = ("srn", ".")
"""Where a run folder keeps its stage-2 checkpoints: ``dasr fit`` in ``srn/``, ``train-srn`` in
the folder itself."""


def load_sr_network(path: PathLike, option: str = "--model") -> tuple[RRDBNet, dict[str, Any]]:
    """The SR network ``path`` holds or points to, in eval mode on the CPU, and what it is.

    The info dict always has ``source`` (the file read), ``kind`` (``model file``,
    ``dasr-srn checkpoint`` or ``RRDB weights``), ``scale`` and ``hyperparameters``; model files add
    their metadata, checkpoints their ``iteration`` and ``config``, foreign weights their
    ``naming`` and ``container``. Every error message starts with ``option`` (the setting to fix).
    """
    try:
        source = _resolve(Path(path))
        if _is_model_file(source):
            network, metadata = load_model_file(source, option)
            info: dict[str, Any] = {**metadata, "kind": "model file"}
        elif source.suffix.lower() == ".safetensors":
            network, info = _load_foreign(source)
        else:
            network, info = _load_checkpoint(source)
    except DasrError as error:
        message = str(error)
        raise DasrError(message if message.startswith(f"{option}:") else f"{option}: {message}") from None
    info.update(source=str(source), scale=network.scale, hyperparameters=network.hyperparameters())
    return network.eval(), info


def _resolve(path: Path) -> Path:
    """The file to read: ``path`` itself, or the model / checkpoint inside a run folder."""
    if path.is_file():
        return path
    if not path.exists():
        raise DasrError(f"'{path}' does not exist")
    if not path.is_dir():
        raise DasrError(f"'{path}' is neither a file nor a run folder")
    candidates = [path / MODEL_FILE_NAME]
    for folder in _SRN_RUN_FOLDERS:
        run = RunDir(path / folder, create=False)
        candidates += [run.best_checkpoint, run.last_checkpoint]
    found = next((candidate for candidate in candidates if candidate.is_file()), None)
    if found is None:
        raise DasrError(
            f"folder '{path}' holds no {MODEL_FILE_NAME} and no stage-2 checkpoint "
            "(srn/checkpoints/ or checkpoints/); give a 'dasr fit' or 'dasr train-srn' run folder or a weights file"
        )
    return found


def _is_model_file(path: Path) -> bool:
    """Whether ``path`` is our model file; anything unreadable is left to the weights loader,
    whose message then says what is wrong with it."""
    if path.suffix.lower() != ".safetensors":
        return False
    try:
        with safe_open(str(path), framework="pt") as handle:
            return (handle.metadata() or {}).get("format") == MODEL_FORMAT
    except Exception:  # noqa: BLE001 -- unreadable: the weights loader says what is wrong
        return False


def _load_checkpoint(path: Path) -> tuple[RRDBNet, dict[str, Any]]:
    """A pickled checkpoint: ours (it has a ``format`` key) or someone else's RRDB weights."""
    checkpoint = load_checkpoint(path)
    found_format = checkpoint.get("format")
    if found_format is None:
        return _load_foreign(path)
    if found_format != SRN_CHECKPOINT:
        raise DasrError(
            f"'{path}' is a '{found_format}' checkpoint, not an SR network ('{SRN_CHECKPOINT}'); "
            "give a 'dasr train-srn' or 'dasr fit' run folder, its checkpoint or model file"
        )
    if "params_ema" not in checkpoint:
        raise DasrError(f"'{path}' holds no 'params_ema' weights")
    info = {
        "kind": f"{SRN_CHECKPOINT} checkpoint",
        "weights": "params_ema",
        "iteration": int(checkpoint.get("iteration", 0)),
        "config": checkpoint.get("config"),
    }
    return _build(checkpoint["params_ema"], path), info


def _load_foreign(path: Path) -> tuple[RRDBNet, dict[str, Any]]:
    """RRDB weights of another project (a pickle is read a second time here: only
    :mod:`dasr.archs.weights` knows the containers other projects use)."""
    state, found = load_rrdb_state(path)
    return _build(state, path), {"kind": "RRDB weights", **found}


def _build(state: dict[str, Tensor], path: Path) -> RRDBNet:
    try:
        return build_rrdbnet_from_state(state)
    except DasrError as error:
        raise DasrError(f"'{path}': {error}") from None
