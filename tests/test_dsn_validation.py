"""Stage-1 validation figures: the discriminator check on stub discriminators, the reference rows
and probes, unpaired sets, and how the true degradation is declared."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from dasr.data.folders import list_images
from dasr.errors import DasrError
from dasr.metrics.distribution import high_frequency_stats
from dasr.ops.frequency import FrequencyFilter, high_frequency
from dasr.ops.receptive_field import Geometry
from dasr.ops.resize import bicubic_downscale
from dasr.stage1_dsn.validation import (
    DSNValidationSet,
    DSNValidator,
    discriminator_score,
    format_validation,
)


class ConstantLogit(nn.Module):
    """A discriminator that gives every patch the same logit."""

    def __init__(self, logit: float) -> None:
        super().__init__()
        self.logit = nn.Parameter(torch.tensor(logit))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit.expand(x.shape[0], 1, *x.shape[-2:])

    def geometry(self) -> Geometry:
        return Geometry(size=1, stride=1, padding=0)


class FirstBand(ConstantLogit):
    """A discriminator whose logit is 20 x its first input channel: shows what it was given."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 20 * x[:, :1] + self.logit


class BicubicDSN(nn.Module):
    """A "DSN" that is the bicubic downscale: its LR must score exactly as the bicubic probe."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, hr: torch.Tensor) -> torch.Tensor:
        return bicubic_downscale(hr, self.scale)

    def context(self) -> int:
        return 2 * self.scale

    def tile_alignment(self) -> int:
        return self.scale


def validation_set(folders: dict[str, Path]) -> DSNValidationSet:
    return DSNValidationSet(list_images(folders["val_hr"], "--val-hr"), list_images(folders["val_lr"], "--val-lr"),
                            paired=True)


def test_constant_logit_discriminator_scores_its_sigmoid() -> None:
    images = [torch.rand(1, 3, 20, 24), torch.rand(1, 3, 9, 13)]
    score = discriminator_score(ConstantLogit(0.7), FrequencyFilter("wavelet"), images, tile=8)
    assert score == pytest.approx(1 / (1 + math.exp(-0.7)), rel=1e-6)


def test_the_filter_sits_in_front_of_the_discriminator_and_tiles_are_exact() -> None:
    torch.manual_seed(0)
    images = [torch.rand(1, 3, 40, 36), torch.rand(1, 3, 18, 22)]
    discriminator = FirstBand(-0.2).train()
    score = discriminator_score(discriminator, FrequencyFilter("wavelet"), images, tile=8)
    probabilities = [torch.sigmoid(20 * high_frequency(image, "wavelet")[:, :1] - 0.2).flatten() for image in images]
    assert score == pytest.approx(float(torch.cat(probabilities).double().mean()), rel=1e-6)  # pooled over patches
    assert discriminator.training  # its mode is given back


def test_a_bicubic_dsn_scores_exactly_as_the_bicubic_reference_row(photo_folders) -> None:
    validator = DSNValidator(validation_set(photo_folders), scale=4, tile=64, device=torch.device("cpu"),
                             degradation="bicubic")
    metrics = validator(BicubicDSN(4), ConstantLogit(0.0), FrequencyFilter("wavelet"))
    for key in ("psnr", "ssim", "jsd_haar", "jsd_residual", "hf", "hf_ratio"):
        assert metrics[key] == pytest.approx(metrics[f"bicubic_{key}"], rel=1e-9), key
    # dasr degrade's "bicubic" preset is the same MATLAB bicubic: the true-degradation row equals it
    probes = validator.probes
    assert all(torch.equal(true, bicubic) for true, bicubic in zip(probes["true"], probes["bicubic"]))
    assert metrics["true_jsd_haar"] == metrics["bicubic_jsd_haar"]
    assert 0 < metrics["jsd_haar"] < math.log(2) and metrics["real_hf"] > 0
    assert {key for key in metrics if key.startswith("p_")} == {
        "p_real", "p_bicubic", "p_blur", "p_noise", "p_true", "p_generated"
    }
    assert all(value == 0.5 for key, value in metrics.items() if key.startswith("p_"))
    line = format_validation(7, metrics)
    assert line.startswith("val 7: PSNR") and "true" in line and "P(real LR)" in line


def test_probes_blur_and_noise_move_the_hf_energy_the_right_way(photo_folders) -> None:
    validator = DSNValidator(validation_set(photo_folders), scale=4, tile=64, device=torch.device("cpu"),
                             degradation="phone-camera")
    energy = {name: high_frequency_stats(images).hf_energy for name, images in validator.probes.items()}
    assert energy["blur"] < energy["bicubic"] < energy["noise"]
    assert set(validator.reference_distances) >= {"real_hf", "bicubic_jsd_haar", "true_jsd_haar", "true_hf_ratio"}


def test_unpaired_sets_get_distributions_but_no_psnr(photo_folders) -> None:
    validation = DSNValidationSet(list_images(photo_folders["val_hr"], "--val-hr"),
                                  list_images(photo_folders["lr"], "--lr"), paired=False)  # 2 HR, 3 other LR
    metrics = DSNValidator(validation, scale=4, tile=64, device=torch.device("cpu"), degradation=None)(
        BicubicDSN(4), ConstantLogit(1.0), FrequencyFilter("gaussian")
    )
    assert "psnr" not in metrics and "bicubic_psnr" not in metrics and "p_true" not in metrics
    assert metrics["jsd_haar"] == pytest.approx(metrics["bicubic_jsd_haar"]) and metrics["jsd_haar"] > 0
    assert "PSNR" not in format_validation(1, metrics)


def test_the_true_degradation_is_a_preset_or_a_config_file(photo_folders, tmp_path: Path) -> None:
    config = tmp_path / "camera.yaml"
    config.write_text("steps:\n  - {type: downscale, method: bicubic}\n  - {type: noise, a: 0.0, b: 0.001}\n")
    validator = DSNValidator(validation_set(photo_folders), scale=4, tile=64, device=torch.device("cpu"),
                             degradation=str(config))
    assert validator.reference_distances["true_hf"] > validator.reference_distances["bicubic_hf"]  # noise added
    with pytest.raises(DasrError, match=r"dsn.val_degradation: 'phone-camra' is neither"):
        DSNValidator(validation_set(photo_folders), scale=4, tile=64, device=torch.device("cpu"),
                     degradation="phone-camra")
