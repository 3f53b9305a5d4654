"""Building the stage-2 networks from a configuration.

An ``SRNBundle`` holds the SR generator (ESRGAN's RRDBNet) and, unless ``srn.adversarial`` is
``none``, the patch discriminator and the frequency filter it judges in. The discriminator is
the same family as stage 1's: the paper's target-domain discriminator works on the Haar
high-frequency bands of SR(real LR) vs HR, just as the DSN's does on generated vs real LR.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from dasr.archs.discriminators import filtered_discriminator
from dasr.archs.registry import build_arch
from dasr.archs.rrdbnet import RRDB_ARCH
from dasr.archs.weights import load_rrdbnet
from dasr.config.schema import Config
from dasr.errors import DasrError
from dasr.ops.frequency import FrequencyFilter
from dasr.weights import resolve_init

_SETTING_OF = {"num_features": "srn.num_features", "num_blocks": "srn.num_blocks",
               "growth_channels": "srn.growth_channels", "scale": "scale"}
"""The configuration keys of RRDBNet's hyper-parameters, for error messages."""


@dataclass
class SRNBundle:
    generator: nn.Module
    discriminator: nn.Module | None
    freq_filter: FrequencyFilter | None
    config: Config


def build_srn_networks(config: Config, *, load_init: bool = True) -> SRNBundle:
    """The stage-2 networks the configuration describes: randomly initialised, except the
    generator's weights come from ``srn.init`` when it names weights (and ``load_init``: a
    resumed run takes its weights from its checkpoint and needs neither the file nor, for a
    public model, the network)."""
    srn = config.srn
    generator = build_arch(RRDB_ARCH, scale=config.scale, num_features=srn.num_features, num_blocks=srn.num_blocks,
                           growth_channels=srn.growth_channels)
    init = resolve_init(srn.init, config.scale) if load_init else None
    if init is not None:
        load_initial_weights(generator, init, srn.init)
    if srn.adversarial == "none":
        return SRNBundle(generator, None, None, config)
    freq_filter, discriminator = filtered_discriminator(
        srn.discriminator, srn.filter, num_features=srn.disc_features, norm=srn.disc_norm
    )
    return SRNBundle(generator, discriminator, freq_filter, config)


def load_initial_weights(generator: nn.Module, path: Path, name: str) -> None:
    """Start ``generator`` from RRDB weights in any naming (ESRGAN, mmsr, BasicSR, our own
    checkpoints' ``params_ema``), e.g. a PSNR-oriented ESRGAN instead of our pre-training.

    The file must describe exactly this network: a partial load would silently train from a
    half-random start, so other hyper-parameters are an error naming the settings to change.
    ``name`` is what ``srn.init`` said (e.g. ``builtin:rrdb-small-x4``), for that error.
    """
    try:
        loaded = load_rrdbnet(path)
    except DasrError as error:
        raise DasrError(f"srn.init: {error}") from None
    wanted, found = generator.hyperparameters(), loaded.hyperparameters()
    differences = [
        f"{_SETTING_OF.get(key, key)}={found[key]} (not {wanted[key]})" for key in wanted if found[key] != wanted[key]
    ]
    if differences:
        raise DasrError(
            f"srn.init: {name} holds an RRDBNet with {', '.join(differences)}; use matching settings"
        )
    generator.load_state_dict(loaded.state_dict())
