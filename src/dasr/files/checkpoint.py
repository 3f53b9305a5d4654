"""Checkpoints that load without running code, and the random-number state.

Checkpoints are written atomically (``dasr.files.atomic``). Checkpoints are read with
``torch.load(weights_only=True)`` because run folders get shared; the random-number state is
therefore stored as tensors and plain numbers only (no numpy arrays), which that loader accepts.
"""

from __future__ import annotations

import pickle
import random
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open

from dasr.errors import DasrError
from dasr.files.atomic import PathLike, atomic_write

DSN_CHECKPOINT = "dasr-dsn"
"""``format`` of a stage-1 (train-dsn) checkpoint."""
SRN_CHECKPOINT = "dasr-srn"
"""``format`` of a stage-2 (train-srn) checkpoint. Both live here, below the stages, because
inference and the report recognise them without importing any training code."""

_REFUSED_GLOBAL = re.compile(r"Unsupported (?:global: GLOBAL|class) ([\w.]+)")


def save_checkpoint(path: PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save``; the previous file stays intact if this fails."""
    with atomic_write(path, "wb") as handle:
        torch.save(state, handle)


def load_checkpoint(path: PathLike, kind: str = "checkpoint") -> dict[str, Any]:
    """Read a checkpoint onto the CPU, refusing files that would need arbitrary code to load;
    every failure is one line naming ``kind`` and the file."""
    path = Path(path)
    if not path.is_file():
        raise DasrError(f"{kind} '{path}' does not exist")
    try:
        with warnings.catch_warnings():  # torch's warnings about a damaged file would be a second line
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        refused = _REFUSED_GLOBAL.search(str(error))
        if refused:
            raise DasrError(
                f"{kind} '{path}' was refused for safety: loading it would run code "
                f"from '{refused.group(1)}'; only tensors, numbers, strings and containers are "
                "accepted"
            ) from None
        raise DasrError(f"{kind} '{path}' is corrupt or not a PyTorch checkpoint") from None
    except EOFError:
        raise DasrError(f"{kind} '{path}' is empty or truncated") from None
    except OSError as error:
        raise DasrError(f"{kind} '{path}' cannot be read: {error.strerror or error}") from None
    except (RuntimeError, ValueError) as error:
        reason = str(error).splitlines()[0].split(". ")[0] if str(error) else type(error).__name__
        raise DasrError(f"{kind} '{path}' is corrupt: {reason}") from None
    except Exception:  # noqa: BLE001 -- the unpickler fails on garbage with any exception type
        raise DasrError(f"{kind} '{path}' is corrupt or not a PyTorch checkpoint") from None
    if not isinstance(state, dict):
        raise DasrError(f"{kind} '{path}' holds a {type(state).__name__}, not a dict of states")
    return state


def load_safetensors(path: PathLike, kind: str = "weights file") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a safetensors file on the CPU; any failure to read it
    (missing, truncated, a header that is not JSON, another format under that name) is one
    line naming ``kind`` and the file."""
    path = Path(path)
    if not path.is_file():
        raise DasrError(f"{kind} '{path}' does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except OSError as error:
        raise DasrError(f"{kind} '{path}' cannot be read: {error.strerror or error}") from None
    except Exception as error:  # noqa: BLE001 -- safetensors raises several types on damaged files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DasrError(f"{kind} '{path}' is not a readable safetensors file: {reason}") from None
    return tensors, metadata


def capture_rng_state() -> dict[str, Any]:
    """The state of every global generator a training step may draw from.

    Python's and numpy's states become int64 tensors (their 32-bit words fit exactly) so that a
    ``weights_only`` load accepts them.
    """
    version, words, gauss = random.getstate()
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    return {
        "python": {"version": version, "state": torch.tensor(words, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Undo ``capture_rng_state``; CUDA states are restored for the devices present now."""
    python = state["python"]
    random.setstate((python["version"], tuple(python["state"].tolist()), python["gauss"]))
    numpy = state["numpy"]
    keys = numpy["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, numpy["pos"], numpy["has_gauss"], numpy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if torch.cuda.is_available():
        for index, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)
