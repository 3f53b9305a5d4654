"""Building the stage-1 networks from a configuration, and loading a trained DSN back.

A ``DSNBundle`` is what stage 1.5 needs: the generator (HR in, generated LR out), the
discriminator and the frequency filter it judges in. The generator of the bicubic-input variant
(Table 1) is wrapped so that every generator takes HR input: callers never branch on the variant.
``load_dsn`` also reads the authors' released checkpoints (:mod:`dasr.stage1_dsn.released`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dasr.archs.discriminators import filtered_discriminator
from dasr.archs.registry import build_arch
from dasr.archs.state_dict import fit_state_dict
from dasr.config.loader import config_from_dict
from dasr.config.schema import Config, DSNConfig
from dasr.engine.run_dir import RunDir
from dasr.errors import DasrError
from dasr.files.checkpoint import DSN_CHECKPOINT, load_checkpoint
from dasr.ops.frequency import FrequencyFilter
from dasr.ops.resize import bicubic_downscale
from dasr.stage1_dsn.released import (
    DISCRIMINATOR_KEY,
    GENERATOR_KEY,
    is_released_dsn,
    load_released_weights,
    read_released_dsn,
)


class BicubicInputDSN(nn.Module):
    """Table 1's "bicubic LR input" DSN (as in FSSR): bicubic-downscale, then a same-size network."""

    def __init__(self, inner: nn.Module, scale: int) -> None:
        super().__init__()
        self.inner = inner
        self.scale = scale

    def forward(self, hr: torch.Tensor) -> torch.Tensor:
        return self.inner(bicubic_downscale(hr, self.scale))

    def tile_alignment(self) -> int:
        return self.scale

    def context(self) -> int:
        # The inner network's context is in LR pixels; the antialiased bicubic kernel reaches
        # 2 * scale HR pixels beyond each LR pixel's footprint.
        return self.inner.context() * self.scale + 2 * self.scale


@dataclass
class DSNBundle:
    generator: nn.Module
    discriminator: nn.Module
    freq_filter: FrequencyFilter
    config: Config
    source: Path | None = None
    needs_calibration: bool = False
    """The discriminator's InstanceNorm layers have no statistics yet (a released checkpoint):
    :func:`dasr.stage1_dsn.calibration.calibrate_instance_norm` must fix them before eval use
    (``dasr.stage1_5_maps.generate.generate_pairs`` does it itself)."""


_GENERATOR_SETTINGS: dict[str, Callable[[DSNConfig, int], dict[str, object]]] = {
    "paper": lambda dsn, scale: {"scale": scale, "num_features": dsn.num_features, "num_blocks": dsn.num_blocks,
                                 "global_residual": dsn.global_residual},
    "official": lambda dsn, scale: {"scale": scale, "num_features": dsn.num_features, "num_blocks": dsn.num_blocks},
    "physical": lambda dsn, scale: {"scale": scale, "kernel_size": dsn.kernel_size, "jpeg": dsn.jpeg,
                                    "jpeg_quality": dsn.jpeg_quality},
}
"""``dsn.arch`` -> the keyword arguments of the registered ``dsn_<arch>`` generator, for the
scale it downscales by (1 when it sees the bicubic LR)."""


def build_dsn_networks(config: Config) -> DSNBundle:
    """Fresh, randomly initialised stage-1 networks as the configuration describes them."""
    dsn = config.dsn
    bicubic_input = dsn.input == "bicubic"
    if dsn.arch == "physical" and bicubic_input:
        raise DasrError("dsn.input=bicubic: the physical DSN blurs HR pixels and needs dsn.input=hr")
    settings = _GENERATOR_SETTINGS[dsn.arch](dsn, 1 if bicubic_input else config.scale)
    generator: nn.Module = build_arch(f"dsn_{dsn.arch}", **settings)
    if bicubic_input:
        generator = BicubicInputDSN(generator, config.scale)
    freq_filter, discriminator = filtered_discriminator(
        dsn.discriminator, dsn.filter, num_features=dsn.disc_features, norm=dsn.disc_norm
    )
    return DSNBundle(generator, discriminator, freq_filter, config)


def resolve_dsn_checkpoint(path: Path) -> Path:
    """A run folder means its latest checkpoint; a file is taken as it is."""
    if path.is_dir():
        checkpoint = RunDir(path, create=False).latest_checkpoint()
        if checkpoint is None:
            raise DasrError(f"--dsn: run folder '{path}' holds no DSN checkpoint (train it with 'dasr train-dsn')")
        return checkpoint
    if not path.exists():
        raise DasrError(f"--dsn: '{path}' does not exist")
    return path


def _check_agrees(config: Config, path: Path, scale: int | None, filter_kind: str | None) -> None:
    """``--scale`` / ``--filter`` are only needed for released checkpoints; ours record both, and
    an option that says otherwise is a mistake rather than something to obey."""
    if scale is not None and scale != config.scale:
        raise DasrError(f"--scale {scale} contradicts --dsn '{path}': its DSN was trained for scale {config.scale}")
    if filter_kind is not None and filter_kind != config.dsn.filter:
        raise DasrError(
            f"--filter {filter_kind} contradicts --dsn '{path}': its discriminator was trained with the "
            f"{config.dsn.filter} filter"
        )


def _load_released(
    checkpoint_path: Path, state: dict[str, Any], scale: int | None, filter_kind: str | None
) -> DSNBundle:
    source = f"--dsn: '{checkpoint_path}'"
    released = read_released_dsn(state, source, scale=scale, filter_kind=filter_kind)
    bundle = build_dsn_networks(released.config)
    generator = bundle.generator.inner if isinstance(bundle.generator, BicubicInputDSN) else bundle.generator
    load_released_weights(generator, released.generator, "generator", source)
    load_released_weights(bundle.discriminator, released.discriminator, "discriminator", source)
    bundle.needs_calibration = released.config.dsn.disc_norm == "instance"
    return bundle


def load_dsn(path: Path, *, scale: int | None = None, filter_kind: str | None = None) -> DSNBundle:
    """Load a trained DSN (generator and discriminator) from a run folder or checkpoint file:
    ours, or a released one (``model_g_state_dict`` + ``models_d_state_dict``), whose scale and
    filter come from ``scale`` / ``filter_kind`` where the file does not record them."""
    checkpoint_path = resolve_dsn_checkpoint(Path(path))
    state = load_checkpoint(checkpoint_path)
    if is_released_dsn(state):
        bundle = _load_released(checkpoint_path, state, scale, filter_kind)
    elif state.get("format") == DSN_CHECKPOINT:
        if not isinstance(state.get("config"), dict):
            raise DasrError(f"--dsn: '{checkpoint_path}' is a damaged DSN checkpoint: it holds no configuration")
        bundle = build_dsn_networks(config_from_dict(state["config"]))
        _check_agrees(bundle.config, checkpoint_path, scale, filter_kind)
        fit_state_dict(bundle.generator, state.get("params"), f"--dsn: '{checkpoint_path}' generator")
        fit_state_dict(bundle.discriminator, state.get("discriminator"), f"--dsn: '{checkpoint_path}' discriminator")
    else:
        raise DasrError(
            f"--dsn: '{checkpoint_path}' is neither a dasr DSN checkpoint nor a released DASR/FSSR one "
            f"(a .tar holding '{GENERATOR_KEY}' and '{DISCRIMINATOR_KEY}')"
        )
    bundle.generator.eval()
    bundle.discriminator.eval()
    bundle.source = checkpoint_path
    return bundle
