"""Stage-1 validation: does the DSN produce LR images of the real camera, and does its
discriminator recognise that camera rather than the scenes?

Three views of the validation images, computed by :class:`DSNValidator`:

- pairs (HR and real LR of the same scenes only): PSNR/SSIM of DSN(HR) and of the bicubic
  downscale against the real LR (Table 1's protocol). PSNR against one noisy realisation
  punishes a DSN that generates the right noise, hence the next view;
- distribution distances (:mod:`dasr.metrics.distribution`) of the generated LR, the bicubic LR
  and, when the user declares it (``dsn.val_degradation``), the true degradation applied to the
  same HR, each against the real LR set. They need no pairing: the HR and real LR may show
  different scenes (``--val-unpaired``). The reference rows say what "close" means here;
  different scenes alone keep even the true degradation at some distance;
- the discriminator check: the trained discriminator's mean probability of "real LR" on the real
  LR and on probes made from the HR: bicubic, bicubic blurred, bicubic plus Gaussian noise,
  generated, true degradation. One that learned the camera scores the true degradation about as
  real as the real LR and the bicubic probes lower; one that separates scenes does not.

Every image is compared as it would be saved: quantised to 8 bits. Everything that does not
depend on the networks (probes, real-LR statistics, reference distances) is computed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from dasr.data.image_io import image_to_tensor, tensor_to_pixels
from dasr.degradations.blur import blur, gaussian_kernel
from dasr.degradations.pipeline import Step, config_steps, degrade, preset_steps
from dasr.degradations.presets import PRESETS
from dasr.errors import DasrError
from dasr.metrics.distribution import (
    HighFrequencyStats,
    distribution_distances,
    high_frequency_stats,
)
from dasr.metrics.protocol import (
    psnr_ssim,
    quantize_8bit,
    read_aligned_pair,
    read_rgb_tensor,
)
from dasr.ops.frequency import FrequencyFilter
from dasr.ops.resize import bicubic_downscale
from dasr.stage1_dsn.inference import (
    discriminator_logits,
    downscale_with_dsn,
    noise_seed,
)

PROBE_BLUR_SIGMA = 1.0
"""Gaussian blur (LR pixels) of the "blur" probe: a smoother image than any camera's bicubic."""
PROBE_NOISE_SIGMA = 5 / 255
"""Gaussian noise std of the "noise" probe: visible sensor noise of a phone photo."""
PROBE_SEED = 0
"""Seed of the noise probe, so every validation of a run sees the same probe."""
TRUE_DEGRADATION_SEED = 1_000_003
"""``dasr degrade`` seed of the true-degradation probe: not one a user would pick, so the probe is
another realisation of the declared degradation, never the real LR's own noise draws (which
would make the reference look perfect)."""
VAL_DEGRADATION_OPTION = "dsn.val_degradation"
LOGGED_DISTANCES = ("jsd_haar", "jsd_residual", "hf", "hf_ratio")
"""The distribution figures a validation reports, each also for the reference rows (the curves
stay readable); the per-band ``jsd_lh/hl/hh`` are in ``dasr ablate``'s files."""


@dataclass(frozen=True)
class DSNValidationSet:
    """Validation HR images and real LR images; ``paired``: the same scenes, in the same order."""

    hr_paths: list[Path]
    lr_paths: list[Path]
    paired: bool

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[Path, Path]]) -> DSNValidationSet:
        return cls([hr for hr, _ in pairs], [lr for _, lr in pairs], paired=True)


def degradation_steps(spec: str) -> tuple[Step, ...]:
    """The pipeline ``dsn.val_degradation`` names: a ``dasr degrade`` preset or a ``--config`` file."""
    if spec in PRESETS:
        return preset_steps(spec)
    path = Path(spec)
    if not path.is_file():
        raise DasrError(
            f"{VAL_DEGRADATION_OPTION}: '{spec}' is neither a 'dasr degrade' preset ({', '.join(PRESETS)}) "
            "nor a degradation config file"
        )
    return config_steps(path)


def true_degradation(hr: Tensor, steps: tuple[Step, ...], scale: int, index: int) -> Tensor:
    """``(1, 3, H/scale, W/scale)``: what ``dasr degrade`` makes of image ``index`` of a set,
    with :data:`TRUE_DEGRADATION_SEED` (``hr``'s sizes must be multiples of ``scale``)."""
    lr, _, _ = degrade(tensor_to_pixels(hr), steps, scale, TRUE_DEGRADATION_SEED, index)
    return quantize_8bit(image_to_tensor(lr).unsqueeze(0))


def _blurred(image: Tensor) -> Tensor:
    kernel = gaussian_kernel(PROBE_BLUR_SIGMA, PROBE_BLUR_SIGMA, 0.0)
    return quantize_8bit(image_to_tensor(blur(tensor_to_pixels(image), kernel)).unsqueeze(0))


def _read_hr(path: Path, scale: int) -> Tensor:
    """An unpaired HR image, cropped (bottom/right) to multiples of ``scale``."""
    hr = read_rgb_tensor(path)
    height, width = hr.shape[-2:]
    if min(height, width) < scale:
        raise DasrError(f"--val-hr: '{path}' ({width}x{height}) is smaller than the scale {scale}")
    return hr[..., : height - height % scale, : width - width % scale]


@torch.inference_mode()
def discriminator_score(
    discriminator: nn.Module, freq_filter: FrequencyFilter, images: Sequence[Tensor], *, tile: int
) -> float:
    """Mean probability of "real LR", ``sigmoid(D(H(x)))``, over every patch of every image: the
    filter ``H`` in front of the discriminator as in training (``stage1_dsn.step``), and the
    training log's ``p_real`` / ``p_fake`` measured on whole images. The discriminator runs in eval
    mode and in ``tile``-pixel tiles, as stage 1.5's maps are (:func:`discriminator_logits`)."""
    device = next(discriminator.parameters()).device
    total, count = 0.0, 0
    for image in images:
        logits = discriminator_logits(discriminator, freq_filter, image.to(device), tile=tile)
        total += float(torch.sigmoid(logits.double()).sum())
        count += logits.numel()
    return total / count


class DSNValidator:
    """Measures a DSN (and its discriminator) on one validation set; see the module docstring.

    ``degradation``: the ``dsn.val_degradation`` of the run (the real LR's true degradation, when
    the user knows it), adding the ``true`` reference row and probe.
    """

    def __init__(
        self, validation: DSNValidationSet, *, scale: int, tile: int, device: torch.device, degradation: str | None
    ) -> None:
        if not validation.hr_paths or not validation.lr_paths:
            raise DasrError("--val-hr / --val-lr: stage-1 validation needs at least one image in each")
        self.scale, self.tile, self.device, self.paired = scale, tile, device, validation.paired
        self.stems = [path.stem for path in validation.hr_paths]
        if validation.paired:
            pairs = [read_aligned_pair(hr, lr, scale) for hr, lr in zip(validation.hr_paths, validation.lr_paths)]
            self.hr, self.real = [hr for hr, _ in pairs], [lr for _, lr in pairs]
        else:
            self.hr = [_read_hr(path, scale) for path in validation.hr_paths]
            self.real = [read_rgb_tensor(path) for path in validation.lr_paths]
        bicubic = [bicubic_downscale(hr, scale) for hr in self.hr]
        noise = torch.Generator().manual_seed(PROBE_SEED)
        self.probes = {
            "bicubic": [quantize_8bit(lr) for lr in bicubic],
            "blur": [_blurred(lr) for lr in bicubic],
            "noise": [quantize_8bit(lr + PROBE_NOISE_SIGMA * torch.randn(lr.shape, generator=noise)) for lr in bicubic],
        }
        if degradation is not None:
            steps = degradation_steps(degradation)
            self.probes["true"] = [true_degradation(hr, steps, scale, index) for index, hr in enumerate(self.hr)]
        self.real_stats = high_frequency_stats(self.real)
        self.reference_distances = {"real_hf": self.real_stats.hf_energy}
        for name in ("bicubic", "true"):
            if name in self.probes:
                distances = self.distances(high_frequency_stats(self.probes[name]))
                self.reference_distances.update({f"{name}_{key}": distances[key] for key in LOGGED_DISTANCES})

    def distances(self, stats: HighFrequencyStats) -> dict[str, float]:
        """A set's distribution distances to the real LR (``jsd_*``, ``hf``, ``hf_ratio``)."""
        return distribution_distances(stats, self.real_stats)

    def generate(self, generator: nn.Module) -> list[Tensor]:
        """DSN(val HR), quantised to 8 bits, on the CPU: what ``dasr generate`` writes for them."""
        return [
            quantize_8bit(downscale_with_dsn(generator, hr.to(self.device), scale=self.scale, tile=self.tile,
                                             seed=noise_seed(stem))).cpu()
            for hr, stem in zip(self.hr, self.stems)
        ]

    def pair_scores(self, generated: Sequence[Tensor]) -> dict[str, float]:
        """Mean PSNR/SSIM (RGB, border of ``scale`` pixels cropped) of DSN(HR) and bicubic(HR)
        against the real LR of the same scene; empty for unpaired sets."""
        if not self.paired:
            return {}
        totals = {"psnr": 0.0, "ssim": 0.0, "bicubic_psnr": 0.0, "bicubic_ssim": 0.0}
        for prefix, images in (("", generated), ("bicubic_", self.probes["bicubic"])):
            for lr, real_lr in zip(images, self.real):
                for name, value in psnr_ssim(lr, real_lr, crop_border=self.scale).items():
                    totals[prefix + name] += value
        return {name: value / len(self.real) for name, value in totals.items()}

    def discriminator_scores(
        self, discriminator: nn.Module, freq_filter: FrequencyFilter, generated: Sequence[Tensor]
    ) -> dict[str, float]:
        """``p_<set>``: the discriminator's mean "real LR" probability on the real LR, each probe
        and the generated LR."""
        sets = {"real": self.real, **self.probes, "generated": generated}
        return {
            f"p_{name}": discriminator_score(discriminator, freq_filter, images, tile=self.tile)
            for name, images in sets.items()
        }

    def __call__(
        self, generator: nn.Module, discriminator: nn.Module, freq_filter: FrequencyFilter
    ) -> dict[str, float]:
        """Every validation figure of the current networks, as the log's ``val`` row holds them."""
        generated = self.generate(generator)
        distances = self.distances(high_frequency_stats(generated))
        return {
            **self.pair_scores(generated),
            **{key: distances[key] for key in LOGGED_DISTANCES},
            **self.reference_distances,
            **self.discriminator_scores(discriminator, freq_filter, generated),
        }


def format_validation(iteration: int, metrics: dict[str, float]) -> str:
    """One printed line of a validation: the headline figures, references in parentheses."""

    def with_references(key: str, digits: int) -> str:
        references = [f"{name} {metrics[f'{name}_{key}']:.{digits}f}" for name in ("bicubic", "true")
                      if f"{name}_{key}" in metrics]
        return f"{metrics[key]:.{digits}f}" + (f" ({', '.join(references)})" if references else "")

    parts = [f"val {iteration}:"]
    if "psnr" in metrics:
        parts.append(f"PSNR {with_references('psnr', 2)} |")
    parts.append(f"JSD haar {with_references('jsd_haar', 4)}, residual {with_references('jsd_residual', 4)} |")
    parts.append(f"HF/real {with_references('hf_ratio', 2)} |")
    scores = [f"{key[2:]} {value:.2f}" for key, value in metrics.items() if key.startswith("p_")]
    parts.append(f"P(real LR): {', '.join(scores)}")
    return " ".join(parts)
