"""The variants of the paper's two ablation tables, as settings applied on top of a configuration.

Table 1 compares down-sampling networks (what the DSN sees: the HR image or its bicubic
downscale, FSSR-style; where its adversarial loss lives: RGB, Gaussian high-pass "GBFS", Haar
wavelet bands "WFS"). Table 2 compares SR networks trained with and without each of DASR's
ingredients. A variant is only a name, the paper's label and a few dotted settings, so the
settings recorded in each run's ``config.yaml`` are the single source of truth for what ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from dasr.config.schema import Config
from dasr.errors import DasrError


@dataclass(frozen=True)
class Variant:
    """One row (Table 1) or column (Table 2) of a paper table."""

    name: str
    """Folder name under ``OUT/table{1,2}/``."""
    label: str
    """The paper's name for it, shown in the printed table."""
    settings: tuple[tuple[str, str], ...]
    """``(section.key, value)`` pairs applied to the configuration."""

    def apply(self, config: Config) -> Config:
        """``config`` with this variant's settings (they win over the user's ``--set``)."""
        for key, value in self.settings:
            section, name = key.split(".")
            config = replace(config, **{section: replace(getattr(config, section), **{name: value})})
        return config


DSN_INPUTS = {"bicubic": "bicubic LR", "hr": "HR"}
"""Table 1's rows: the DSN's input, and its printed name."""
DSN_FILTERS = {"rgb": "RGB", "gaussian": "GBFS", "wavelet": "WFS"}
"""Table 1's columns: the space of the DSN's adversarial loss, and the paper's abbreviation."""

TABLE1_VARIANTS = (
    *(
        Variant(
            f"{source}-{kind}",
            f"{DSN_INPUTS[source]} + {label}",
            (("dsn.arch", "paper"), ("dsn.input", source), ("dsn.filter", kind)),
        )
        for source in DSN_INPUTS
        for kind, label in DSN_FILTERS.items()
    ),
    Variant(
        "physical-wavelet",
        "physical degradation + WFS",
        (("dsn.arch", "physical"), ("dsn.input", "hr"), ("dsn.filter", "wavelet")),
    ),
)
"""The paper's DSN in every input x filter combination (6 DSNs; ``dsn.arch=paper`` whatever the
preset chooses), then the physical degradation model the CPU presets use, with the paper's
wavelet filter; the bicubic downscale is the reference row."""


def _srn(name: str, label: str, pairs: str, adversarial: str, weighting: str) -> Variant:
    return Variant(
        name, label, (("srn.pairs", pairs), ("srn.adversarial", adversarial), ("srn.weighting", weighting))
    )


TABLE2_VARIANTS = (
    _srn("bicubic", "ESRGAN (bicubic pairs)", "bicubic", "source", "none"),
    _srn("bicubic-target", "bicubic + target GAN", "bicubic", "target", "none"),
    _srn("generated", "generated pairs", "generated", "source", "none"),
    _srn("generated-target", "generated + target GAN", "generated", "target", "none"),
    _srn("generated-map", "generated + weighting", "generated", "source", "map"),
    _srn("dasr", "DASR (all)", "generated", "target", "map"),
)
"""The paper's six Table 2 columns, in its order (README, ``dasr train-srn``)."""


def select_variants(variants: Sequence[Variant], names: Sequence[str] | None) -> tuple[Variant, ...]:
    """The variants named (all when ``names`` is None), in the table's order, so that a subset
    (e.g. only the paper's DSN and the CPU presets' one) costs only its own trainings."""
    if names is None:
        return tuple(variants)
    known = [variant.name for variant in variants]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise DasrError(f"--variants: no variant {', '.join(map(repr, unknown))} in this table; "
                        f"choose from {', '.join(known)}")
    return tuple(variant for variant in variants if variant.name in names)
