"""RRDBNet weights from wherever they come from, as a :class:`~dasr.archs.rrdbnet.RRDBNet`.

RRDB weights circulate under three namings (a recurring complaint of the released code's users):

- BasicSR / Real-ESRGAN: ``conv_first``, ``body.N.rdb1.conv1``, ``conv_body``, ``conv_up1``,
  ``conv_hr``, ``conv_last`` -- the names :class:`RRDBNet` itself uses;
- ESRGAN's original sequential model: ``model.0``, ``model.1.sub.N.RDB1.conv1.0``,
  ``model.1.sub.<nb>`` and then one ``[Upsample, conv, LeakyReLU]`` triple per factor of 2, so
  the upsampling convolutions sit at ``model.3``, ``model.6``, ... and the last two at
  ``model.<3k+2>`` and ``model.<3k+4>`` for k upsampling steps;
- mmsr / BSRGAN: ``conv_first``, ``RRDB_trunk.N.RDB1.conv1``, ``trunk_conv``, ``upconv1``,
  ``HRconv``, ``conv_last``.

They come bare or inside a container (BasicSR's ``params_ema``, preferred, or ``params``;
``state_dict``; ``model``), possibly with DataParallel's ``module.`` prefix, in ``.safetensors``
files or pickles (read with ``weights_only``, so a file that needs code to load is refused). Each
naming is a table of regex rules onto BasicSR's names; the hyper-parameters are then read off the
tensor shapes, and the weights must fit the network built from them exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from dasr.archs.rrdbnet import RRDBNet
from dasr.archs.state_dict import fit_state_dict, some_keys
from dasr.errors import DasrError
from dasr.files.atomic import PathLike
from dasr.files.checkpoint import load_checkpoint, load_safetensors

CONTAINERS = ("params_ema", "params", "state_dict", "model")
"""Keys that may hold the weights inside a checkpoint, in order of preference (BasicSR saves the
EMA weights, the better ones, as ``params_ema`` next to ``params``)."""

Rules = list[tuple[str, str]]
"""``(pattern, replacement)`` pairs applied to a key's start; the first match renames it."""


def _basicsr_rules(state: Mapping[str, Tensor]) -> Rules:
    return []


def _mmsr_rules(state: Mapping[str, Tensor]) -> Rules:
    return [
        (r"RRDB_trunk\.(\d+)\.RDB(\d)\.", r"body.\1.rdb\2."),
        (r"trunk_conv\.", "conv_body."),
        (r"upconv(\d+)\.", r"conv_up\1."),
        (r"HRconv\.", "conv_hr."),
    ]


def _esrgan_rules(state: Mapping[str, Tensor]) -> Rules:
    """The positions after the trunk depend on the number of upsampling steps k, read off the
    last index ``3k + 4``."""
    last = max(int(match.group(1)) for key in state if (match := re.match(r"model\.(\d+)\.", key)))
    upsamples = (last - 4) // 3
    return [
        (r"model\.0\.", "conv_first."),
        (r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.", r"body.\1.rdb\2.conv\3."),
        (r"model\.1\.sub\.\d+\.", "conv_body."),
        *((rf"model\.{3 * step}\.", f"conv_up{step}.") for step in range(1, upsamples + 1)),
        (rf"model\.{last - 2}\.", "conv_hr."),
        (rf"model\.{last}\.", "conv_last."),
    ]


@dataclass(frozen=True)
class _Naming:
    name: str
    marker: str
    """A key that only this naming has."""
    example: str
    """Its key names, for error messages."""
    rules: Callable[[Mapping[str, Tensor]], Rules]


_NAMINGS = (
    _Naming(
        "BasicSR",
        "body.0.rdb1.conv1.weight",
        "BasicSR/Real-ESRGAN 'conv_first', 'body.N.rdb1.conv1', 'conv_body', 'conv_up1', 'conv_hr', 'conv_last'",
        _basicsr_rules,
    ),
    _Naming(
        "ESRGAN",
        "model.1.sub.0.RDB1.conv1.0.weight",
        "ESRGAN 'model.0', 'model.1.sub.N.RDB1.conv1.0', 'model.3', ..., 'model.10'",
        _esrgan_rules,
    ),
    _Naming(
        "mmsr",
        "RRDB_trunk.0.RDB1.conv1.weight",
        "mmsr/BSRGAN 'conv_first', 'RRDB_trunk.N.RDB1.conv1', 'trunk_conv', 'upconv1', 'HRconv', 'conv_last'",
        _mmsr_rules,
    ),
)


def _read(path: Path) -> Mapping[str, Any]:
    if path.suffix.lower() != ".safetensors":
        return load_checkpoint(path)
    return load_safetensors(path, "weights file")[0]


def _unwrap(checkpoint: Mapping[str, Any]) -> tuple[dict[str, Tensor], str | None]:
    """The tensors of the preferred container (or of the top level), without ``module.``."""
    container = next((key for key in CONTAINERS if isinstance(checkpoint.get(key), Mapping)), None)
    weights = checkpoint if container is None else checkpoint[container]
    state = {key.removeprefix("module."): value for key, value in weights.items() if isinstance(value, Tensor)}
    return state, container


def _to_basicsr(state: Mapping[str, Tensor], source: str) -> tuple[dict[str, Tensor], str]:
    """``state`` renamed to BasicSR's names, and the name of the naming it was in."""
    naming = next((known for known in _NAMINGS if known.marker in state), None)
    if naming is None:
        found = some_keys(list(state)) if state else "no tensors"
        raise DasrError(
            f"{source} holds no RRDBNet weights in a recognised naming "
            f"({'; '.join(known.example for known in _NAMINGS)}); found {found}"
        )
    rules = naming.rules(state)
    renamed = {}
    for key, tensor in state.items():
        for pattern, replacement in rules:
            key, matched = re.subn(f"^{pattern}", replacement, key, count=1)
            if matched:
                break
        renamed[key] = tensor
    return renamed, naming.name


def _hyperparameters(state: Mapping[str, Tensor], source: str) -> dict[str, int]:
    """RRDBNet's constructor arguments read off BasicSR-named weights.

    A ``conv_first`` taking 4 or 16 times ``conv_last``'s channels means BasicSR's
    pixel-unshuffled x2 / x1 variant (as spandrel decides it too).
    """
    try:
        first, last = state["conv_first.weight"], state["conv_last.weight"]
        growth_channels = state["body.0.rdb1.conv1.weight"].shape[0]
    except KeyError as missing:
        raise DasrError(f"{source} lacks the RRDBNet weight {missing}") from None
    if first.dim() != 4 or last.dim() != 4 or state["body.0.rdb1.conv1.weight"].dim() != 4:
        raise DasrError(f"{source} is not RRDBNet weights: its convolution weights are not 4-dimensional")
    upsamples = sum(1 for key in state if re.fullmatch(r"conv_up\d+\.weight", key))
    unshuffle = next((u for u in (4, 2) if first.shape[1] == last.shape[0] * u * u and u <= 2**upsamples), 1)
    return {
        "scale": 2**upsamples // unshuffle,
        "num_features": first.shape[0],
        "num_blocks": 1 + max(int(match.group(1)) for key in state if (match := re.match(r"body\.(\d+)\.", key))),
        "growth_channels": growth_channels,
        "in_channels": first.shape[1] // unshuffle**2,
        "out_channels": last.shape[0],
        "input_unshuffle": unshuffle,
    }


def _build(state: Mapping[str, Tensor], source: str) -> RRDBNet:
    state, _ = _to_basicsr(state, source)
    hyperparameters = _hyperparameters(state, source)
    try:
        net = RRDBNet(**hyperparameters)
    except DasrError as error:
        raise DasrError(f"{source}: {error}") from None
    arguments = ", ".join(f"{name}={value}" for name, value in hyperparameters.items())
    fit_state_dict(net, state, source, network=f"RRDBNet({arguments})")
    return net


def load_rrdb_state(path: PathLike) -> tuple[dict[str, Tensor], dict[str, str | None]]:
    """The RRDB weights in ``path`` under BasicSR's names, and where they were found:
    ``{"naming": "BasicSR" | "ESRGAN" | "mmsr", "container": "params_ema" | ... | None}``."""
    path = Path(path)
    state, container = _unwrap(_read(path))
    state, naming = _to_basicsr(state, f"weights file '{path}'")
    return state, {"naming": naming, "container": container}


def build_rrdbnet_from_state(state: Mapping[str, Tensor]) -> RRDBNet:
    """An :class:`RRDBNet` with hyper-parameters inferred from ``state`` (in any of the namings,
    unwrapped) and its weights loaded."""
    return _build(state, "the RRDB state dict")


def load_rrdbnet(path: PathLike) -> RRDBNet:
    """The network whose weights ``path`` holds, in any naming, container or file format."""
    state, _ = load_rrdb_state(path)
    return _build(state, f"weights file '{path}'")
