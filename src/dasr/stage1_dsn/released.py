"""The authors' released DSN checkpoints (and FSSR's DSGAN ones) as our stage-1 networks.

What the released code writes: ``codes/DSN/train.py`` of ShuhangGu/DASR, like the FSSR code it
grew from (ManuelFritsche/real-world-sr ``dsgan/train.py``), saves one ``torch.save`` dict per
checkpoint (``checkpoints/iteration_N.tar``, ``last_iteration.tar``): ``epoch``, ``iteration``,
``model_g_state_dict``, ``models_d_state_dict`` and the optimizer and scheduler states. Its map
script ``codes/DSN/create_dataset_modified.py`` reads generator and discriminator back from that
one file (the README: "our generator and discriminator are saved in a single .tar"), and so do
we. The networks (``codes/DSN/model.py``) and how their names map onto ours:

- ``De_resnet``: ``block_input``, ``res_blocks.N.{conv1,prelu,conv2}``, ``down_sample`` (one
  stride-2 convolution + PReLU per factor of 2), ``block_output``. That is
  :class:`~dasr.archs.dsn.OfficialDSN` with ``prelu`` called ``act``; the scale is 2 to the
  number of stride-2 convolutions.
- FSSR's ``Generator`` (DSGAN): the same without ``down_sample``, applied to the bicubic
  downscale of the HR image, i.e. our ``dsn.input=bicubic`` variant. Its scale is nowhere in the
  file (the bicubic resize happens outside the network), so the user must give it.
- ``Discriminator``: a high-pass filter, then ``net`` = ``DiscriminatorBasic`` ("FSD") whose own
  ``net`` holds the layers, so ``net.net.{0,2,3,5,6,8}`` are our
  :class:`~dasr.archs.discriminators.OfficialPatchDiscriminator`'s ``net.{0,2,3,5,6,8}``. Its
  norm layers are BatchNorm (FSSR, early DASR; saved with running statistics) or DASR's default
  ``nn.InstanceNorm2d(c)``, which has no parameters or buffers and so leaves no keys.
- The filter is read off what it leaves: ``DWT2.*`` buffers (``pytorch_wavelets``) and 9 input
  channels for ``wavelet``; the kernel parameter ``filter.filter_low.filter.gaussian_filter.weight``
  for ``gaussian``. ``avg_pool`` and ``--no_highpass`` (our ``rgb``) leave nothing, so a
  3-channel discriminator without filter keys needs ``--filter avgpool`` or ``--filter rgb``.
  ``--kernel_size`` is checked for the Gaussian; for ``avg_pool`` it cannot be, and dasr's is 5
  (the released default).

Exactness: generator outputs are the released ones. The released filters hand the discriminator
``0.5 * h + 0.5`` rather than the high-pass ``h`` itself (except ``--no_highpass``); that affine
map is folded into the first convolution, so scores are the released ones wherever no padding
is involved. Within a few pixels of the border they differ slightly: the released filters
zero-pad (Gaussian) or average only the pixels inside (``avg_pool``) where ours reflect-pad, and
the released first convolution pads with 0 in the ``0.5 * h + 0.5`` space, i.e. ``h = -1``.

InstanceNorm: the released one normalises every image by its own statistics, so a patch's score
depends on the whole image, and maps computed tile by tile would depend on the tile size; our
design requires every network to be a local operator in eval mode. So the loaded InstanceNorm
layers (affine identity) get fixed statistics by
:func:`dasr.stage1_dsn.calibration.calibrate_instance_norm`: the mean, over
generated LR crops of the training crop size, of the per-crop statistics the released layer
would compute. That is what the discriminator saw on generated images while it was trained (it
was trained on crops), maps stay independent of tiling, and the price is that an image whose
statistics differ from the average is normalised by the average, not by its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from dasr.archs.state_dict import fit_state_dict, some_keys
from dasr.config.loader import load_config
from dasr.config.schema import Config
from dasr.errors import DasrError
from dasr.ops.frequency import BLUR_SIZE

GENERATOR_KEY = "model_g_state_dict"
DISCRIMINATOR_KEY = "models_d_state_dict"
GAUSSIAN_KEY = "filter.filter_low.filter.gaussian_filter.weight"
UNRECORDED_FILTERS = ("avgpool", "rgb")
"""Filters that leave no trace in a released discriminator with 3 input channels."""


@dataclass(frozen=True)
class ReleasedDSN:
    """A released checkpoint in our terms: the configuration that rebuilds its networks and
    their weights under our names."""

    config: Config
    generator: dict[str, Tensor]
    """:class:`~dasr.archs.dsn.OfficialDSN` names (the network inside the bicubic wrapper for DSGAN)."""
    discriminator: dict[str, Tensor]
    """:class:`~dasr.archs.discriminators.OfficialPatchDiscriminator` names; no InstanceNorm keys."""


def _tensors(state: Any) -> dict[str, Tensor]:
    """The tensors of a state dict, without DataParallel's ``module.`` prefix."""
    if not isinstance(state, Mapping):
        return {}
    return {key.removeprefix("module."): value for key, value in state.items() if isinstance(value, Tensor)}


def _is_bare_discriminator(checkpoint: Mapping[str, Any]) -> bool:
    return any(key.removeprefix("module.").startswith("net.net.") for key in checkpoint)


def is_released_dsn(checkpoint: Mapping[str, Any]) -> bool:
    """Whether ``checkpoint`` is (part of) a released DSN checkpoint, rather than one of ours."""
    return GENERATOR_KEY in checkpoint or DISCRIMINATOR_KEY in checkpoint or _is_bare_discriminator(checkpoint)


def _check_complete(checkpoint: Mapping[str, Any], source: str) -> None:
    """Generator and discriminator come together or not at all: the generated LR images and their
    maps must come from networks trained against each other, and the released code never saves
    one without the other (a bare discriminator state dict is only its ``model.py`` test output)."""
    if GENERATOR_KEY in checkpoint and DISCRIMINATOR_KEY in checkpoint:
        return
    if GENERATOR_KEY in checkpoint:
        found = f"a released generator ('{GENERATOR_KEY}') but no discriminator"
    elif DISCRIMINATOR_KEY in checkpoint:
        found = f"a released discriminator ('{DISCRIMINATOR_KEY}') but no generator"
    else:
        found = "only a released discriminator state dict ('filter...', 'net.net.N...') and no generator"
    raise DasrError(
        f"{source} holds {found}; 'dasr generate' needs both, as the released train.py saves them "
        f"together in one .tar ('{GENERATOR_KEY}' and '{DISCRIMINATOR_KEY}')"
    )


def _read_generator(state: dict[str, Tensor], source: str, scale: int | None) -> tuple[dict[str, Tensor], list[str]]:
    """The generator's weights under our names and the configuration settings read off them."""
    if "block_input.0.weight" not in state:
        found = some_keys(list(state)) if state else "no tensors"
        raise DasrError(
            f"{source}: '{GENERATOR_KEY}' holds no De_resnet or DSGAN generator (keys 'block_input.0', "
            f"'res_blocks.N.conv1', 'block_output'); found {found}"
        )
    blocks = [int(match.group(1)) for key in state if (match := re.match(r"res_blocks\.(\d+)\.", key))]
    halvings = sum(
        1 for key, tensor in state.items() if re.fullmatch(r"down_sample\.\d+\.weight", key) and tensor.ndim == 4
    )
    if halvings:
        found_scale = 2**halvings
        if found_scale not in (2, 4):
            raise DasrError(f"{source}: its De_resnet generator downscales by {found_scale}; dasr supports 4, 2 and 1")
        if scale is not None and scale != found_scale:
            raise DasrError(
                f"--scale {scale} contradicts {source}: its De_resnet generator downscales by {found_scale} "
                f"({halvings} stride-2 convolution{'s' if halvings > 1 else ''})"
            )
        settings = [f"scale={found_scale}", "dsn.input=hr"]
    elif scale is None:
        raise DasrError(
            f"{source} holds a DSGAN generator (no stride-2 convolutions: it is applied to the bicubic "
            "downscale), whose file does not record the scale; pass --scale 4, 2 or 1"
        )
    else:
        settings = [f"scale={scale}", "dsn.input=bicubic"]
    settings += [
        f"dsn.num_blocks={1 + max(blocks, default=-1)}",
        f"dsn.num_features={state['block_input.0.weight'].shape[0]}",
    ]
    renamed = {re.sub(r"^(res_blocks\.\d+)\.prelu\.", r"\1.act.", key): tensor for key, tensor in state.items()}
    return renamed, settings


def _filter_kind(state: Mapping[str, Tensor], in_channels: int, source: str, requested: str | None) -> str:
    """The filter the discriminator was trained behind, from the traces it leaves (see the module
    docstring), checked against ``--filter`` when the user gave one."""
    if in_channels == 9 or any(key.startswith("DWT2.") for key in state):
        if in_channels != 9:
            raise DasrError(
                f"{source}: its discriminator judges the sum of the wavelet bands (released --cat_or_sum sum, "
                f"{in_channels} input channels); dasr supports the concatenated bands (9 channels) only"
            )
        recorded = "wavelet"
    elif GAUSSIAN_KEY in state:
        size = state[GAUSSIAN_KEY].shape[-1]
        if size != BLUR_SIZE:
            raise DasrError(
                f"{source}: its discriminator's Gaussian filter is {size}x{size} (released --kernel_size {size}); "
                f"dasr's is {BLUR_SIZE}x{BLUR_SIZE}"
            )
        recorded = "gaussian"
    elif in_channels == 3:
        if requested in UNRECORDED_FILTERS:
            return requested
        given = "" if requested is None else f"--filter {requested} does not fit: "
        raise DasrError(
            f"{source}: {given}its 3-channel discriminator saved no filter weights, so it was trained behind "
            "avg_pool (--filter avgpool) or no filter (--filter rgb), not gaussian (its kernel would be saved) "
            "or wavelet (9 channels); pass --filter avgpool or --filter rgb"
        )
    else:
        raise DasrError(
            f"{source}: its discriminator takes {in_channels} input channels, which fits no filter "
            "(3: avgpool, gaussian, rgb; 9: wavelet)"
        )
    if requested is not None and requested != recorded:
        raise DasrError(
            f"--filter {requested} contradicts {source}: its discriminator was trained with the {recorded} filter"
        )
    return recorded


def _fold_offset(state: dict[str, Tensor]) -> None:
    """The released filters output ``0.5 * h + 0.5``; the first convolution then computes
    ``W (0.5 h + 0.5) + b = (0.5 W) h + (b + 0.5 sum W)``, which is ours with these weights."""
    weight = state["net.0.weight"]
    state["net.0.bias"] = state["net.0.bias"] + 0.5 * weight.sum(dim=(1, 2, 3))
    state["net.0.weight"] = 0.5 * weight


def _read_discriminator(
    state: dict[str, Tensor], source: str, requested_filter: str | None
) -> tuple[dict[str, Tensor], list[str]]:
    """The discriminator's weights under our names and the configuration settings read off them."""
    if any(key.startswith("net.model.") for key in state):
        raise DasrError(
            f"{source}: its discriminator is the released NLayerDiscriminator (--discriminator nld_s1 or nld_s2, "
            "keys 'net.model.N'); dasr supports FSD (DiscriminatorBasic, keys 'net.net.N') only"
        )
    layers = {match.group(1): tensor for key, tensor in state.items() if (match := re.match(r"net\.net\.(.+)", key))}
    if "0.weight" not in layers:
        found = some_keys(list(state)) if state else "no tensors"
        raise DasrError(f"{source}: '{DISCRIMINATOR_KEY}' holds no FSD discriminator (keys 'net.net.N'); found {found}")
    unknown = [key for key in state if not key.startswith(("net.net.", "DWT2.", "filter."))]
    if unknown:
        raise DasrError(f"{source}: its discriminator has weights dasr does not know: {some_keys(unknown)}")
    num_features, in_channels = layers["0.weight"].shape[:2]
    kind = _filter_kind(state, in_channels, source, requested_filter)
    renamed = {f"net.{key}": tensor for key, tensor in layers.items()}
    if kind != "rgb":
        _fold_offset(renamed)
    norm = "batch" if "3.running_mean" in layers else "instance"
    return renamed, [f"dsn.filter={kind}", f"dsn.disc_features={num_features}", f"dsn.disc_norm={norm}"]


def read_released_dsn(
    checkpoint: Mapping[str, Any], source: str, *, scale: int | None, filter_kind: str | None
) -> ReleasedDSN:
    """A released checkpoint (``is_released_dsn``) in our terms. ``scale`` and ``filter_kind``
    are the user's ``--scale`` / ``--filter``: needed where the file does not say, checked
    against it where it does. ``source`` starts every message (e.g. ``--dsn: 'last.tar'``)."""
    _check_complete(checkpoint, source)
    generator, generator_settings = _read_generator(_tensors(checkpoint[GENERATOR_KEY]), source, scale)
    discriminator, discriminator_settings = _read_discriminator(
        _tensors(checkpoint[DISCRIMINATOR_KEY]), source, filter_kind
    )
    config = load_config("official", overrides=[*generator_settings, *discriminator_settings])
    return ReleasedDSN(config, generator, discriminator)


def load_released_weights(module: nn.Module, state: Mapping[str, Tensor], what: str, source: str) -> None:
    """Load ``state`` into ``module`` exactly, or say in one line what does not fit. InstanceNorm
    entries may be absent (the released layers have none): they keep their identity affine map
    and their statistics, which :func:`dasr.stage1_dsn.calibration.calibrate_instance_norm` then fixes."""
    optional = {
        f"{name}.{key}"
        for name, layer in module.named_modules()
        if isinstance(layer, nn.InstanceNorm2d)
        for key in layer.state_dict()
    }
    fit_state_dict(module, state, f"{source}: its {what}", optional=optional, network=f"dasr's {type(module).__name__}")
