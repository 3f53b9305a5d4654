"""Building the stage-1 networks from a configuration, and loading a trained DSN back.

A ``DSNBundle`` is what stage 1.5 needs: the generator (HR in, generated LR out), the
discriminator and the frequency filter it judges in. The generator of the bicubic-input variant
(Table 1) is wrapped so that every generator takes HR input: callers never branch on the variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dasr.archs.registry import build_arch
from dasr.config.loader import config_from_dict
from dasr.config.schema import Config
from dasr.engine.checkpoint import load_checkpoint
from dasr.engine.run_dir import RunDir
from dasr.errors import DasrError
from dasr.ops.frequency import FrequencyFilter
from dasr.ops.resize import bicubic_downscale

CHECKPOINT_FORMAT = "dasr-dsn"


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


def build_dsn_networks(config: Config) -> DSNBundle:
    """Fresh, randomly initialised stage-1 networks as the configuration describes them."""
    dsn = config.dsn
    bicubic_input = dsn.input == "bicubic"
    if dsn.arch == "paper":
        generator: nn.Module = build_arch(
            "dsn_paper",
            scale=1 if bicubic_input else config.scale,
            num_features=dsn.num_features,
            num_blocks=dsn.num_blocks,
            global_residual=dsn.global_residual,
        )
    else:
        generator = build_arch(
            "dsn_official",
            scale=1 if bicubic_input else config.scale,
            num_features=dsn.num_features,
            num_blocks=dsn.num_blocks,
        )
    if bicubic_input:
        generator = BicubicInputDSN(generator, config.scale)
    freq_filter = FrequencyFilter(dsn.filter)
    discriminator = build_arch(
        f"patch_disc_{dsn.discriminator}",
        in_channels=freq_filter.out_channels(3),
        num_features=dsn.disc_features,
        norm=dsn.disc_norm,
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


def load_dsn(path: Path) -> DSNBundle:
    """Load a trained DSN (generator and discriminator) from a run folder or checkpoint file."""
    checkpoint_path = resolve_dsn_checkpoint(Path(path))
    state = load_checkpoint(checkpoint_path)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise DasrError(f"--dsn: '{checkpoint_path}' is not a dasr DSN checkpoint")
    bundle = build_dsn_networks(config_from_dict(state["config"]))
    bundle.generator.load_state_dict(state["params"])
    bundle.discriminator.load_state_dict(state["discriminator"])
    bundle.generator.eval()
    bundle.discriminator.eval()
    bundle.source = checkpoint_path
    return bundle
