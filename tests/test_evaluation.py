"""Evaluation: scores against scikit-image on the same 8-bit arrays, pairing by name, size
alignment, the result files, LPIPS and FID/KID availability offline, and the FID/KID math on
inputs whose answer is known."""

from __future__ import annotations

import csv
import json
import math
import sys
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from dasr.data.image_io import write_image
from dasr.errors import DasrError
from dasr.evaluation import (
    EvaluationReport,
    ImageScores,
    Pair,
    evaluate_pairs,
    feature_frechet_distance,
    frechet_distance,
    kernel_inception_distance,
    lpips_metric,
    match_pairs,
    write_report,
)
from dasr.evaluation import fid as fid_module
from dasr.evaluation.inception import PYTORCH_FID_FILE, TORCHVISION_WEIGHTS
from dasr.losses.perceptual import LPIPSLoss
from dasr.metrics.protocol import align_to_reference
from tests.helpers import noisy_pair, save_rgb


@pytest.fixture
def two_pairs(tmp_path) -> tuple[list[Pair], list[tuple[np.ndarray, np.ndarray]]]:
    arrays = [noisy_pair(seed, size=(184, 176)) for seed in range(2)]  # MS-SSIM needs 161 after the crop
    pairs = [
        Pair(f"{i}", save_rgb(tmp_path / "sr" / f"{i}.png", sr), save_rgb(tmp_path / "hr" / f"{i}.png", hr))
        for i, (sr, hr) in enumerate(arrays)
    ]
    return pairs, arrays


WEIGHT_FREE = ("haarpsi", "ms_ssim", "gmsd", "hf", "hf_hr")
"""What every evaluation of images of at least 161x161 pixels (after the crop) reports besides PSNR/SSIM."""


# --- scores against independent references ---------------------------------------------------


@pytest.mark.parametrize("crop_border", [None, 0])
def test_scores_equal_scikit_image_on_the_same_8bit_arrays(two_pairs, offline, crop_border):
    pairs, arrays = two_pairs
    report = evaluate_pairs(pairs, scale=4, crop_border=crop_border, lpips="off", progress=False)
    crop = 4 if crop_border is None else 0
    for image, (sr, hr) in zip(report.images, arrays, strict=True):
        sr, hr = (a[crop : a.shape[0] - crop, crop : a.shape[1] - crop] / 255.0 for a in (sr, hr))
        sr_y, hr_y = (rgb2ycbcr(a)[..., 0] / 255.0 for a in (sr, hr))
        options = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "data_range": 1.0}
        expected = {
            "psnr": peak_signal_noise_ratio(hr, sr, data_range=1.0),
            "ssim": structural_similarity(hr, sr, channel_axis=2, **options),
            "psnr_y": peak_signal_noise_ratio(hr_y, sr_y, data_range=1.0),
            "ssim_y": structural_similarity(hr_y, sr_y, **options),
        }
        assert {name: image.values[name] for name in expected} == pytest.approx(expected, rel=1e-7)  # k/255 to ~1e-8
    assert report.mean()["psnr"] == pytest.approx(np.mean([i.values["psnr"] for i in report.images]))
    assert report.protocol["crop_border"] == crop and report.protocol["lpips"] is None


def test_16_bit_images_are_scored_as_their_8_bit_rounding(two_pairs, tmp_path, offline):
    pairs, arrays = two_pairs
    hr = arrays[0][1]
    deep = tmp_path / "hr16.png"
    write_image(deep, (hr.astype(np.float32) + 0.3) / 255.0, bit_depth=16)  # rounds back to hr
    eight = evaluate_pairs(pairs[:1], scale=2, lpips="off", progress=False).images[0].values
    sixteen = evaluate_pairs([Pair("0", pairs[0].sr, deep)], scale=2, lpips="off", progress=False).images[0].values
    assert sixteen == eight


def test_too_small_image_for_the_crop_names_the_file_and_option(tmp_path, offline):
    sr, hr = noisy_pair(0, size=(16, 16))
    pair = Pair("a", save_rgb(tmp_path / "sr.png", sr), save_rgb(tmp_path / "hr.png", hr))
    with pytest.raises(DasrError, match=r"sr\.png.*--crop-border 4"):
        evaluate_pairs([pair], scale=4, lpips="off", progress=False)


# --- pairing and alignment -------------------------------------------------------------------


def test_pairs_match_by_name_with_a_suffix_stripped():
    sr = [Path("sr/0801_x4.png"), Path("sr/0802_x4.jpg")]
    hr = [Path("hr/0802_HR.png"), Path("hr/0801_HR.png")]
    pairs = match_pairs(sr, hr, sr_suffix="_x4", hr_suffix="_HR")
    assert pairs == [Pair("0801", sr[0], hr[1]), Pair("0802", sr[1], hr[0])]


@pytest.mark.parametrize(
    ("sr", "hr", "message"),
    [
        (
            ["0801_x4", "0802_x4"],
            ["0801", "0802"],
            (
                r"^--hr: no image named '0801_x4\.\*' to pair with 'sr/0801_x4\.png' \(and 1 more\); "
                r"strip a suffix with --sr-suffix _x4$"
            ),
        ),
        (["0801"], ["0801", "0802"], r"^--sr: no image named '0802\.\*' to pair with 'hr/0802\.png'$"),
        (["0801"], ["0801_HR"], r"--hr-suffix _HR$"),
        (["0801", "08011"], ["0801"], r"'08011\.\*' to pair with 'sr/08011\.png'$"),  # no suffix hint
    ],
)
def test_missing_partners_are_named(sr, hr, message):
    with pytest.raises(DasrError, match=message):
        match_pairs([Path(f"sr/{s}.png") for s in sr], [Path(f"hr/{h}.png") for h in hr])


def test_two_files_matching_one_name_are_refused():
    with pytest.raises(DasrError, match=r"--sr: 'sr/a\.png' and 'sr/a_x4\.png' both match the name 'a'"):
        match_pairs([Path("sr/a.png"), Path("sr/a_x4.png")], [Path("hr/a.png")], sr_suffix="_x4")


LABELS = ("'a_sr.png'", "'a_hr.png'")


def test_sizes_differing_by_less_than_the_scale_are_cropped_bottom_right():
    sr, hr = torch.rand(1, 3, 40, 36), torch.rand(1, 3, 43, 35)
    sr_out, hr_out, cropped = align_to_reference(sr, hr, 4, labels=LABELS)
    assert cropped and torch.equal(sr_out, sr[..., :40, :35]) and torch.equal(hr_out, hr[..., :40, :35])
    assert align_to_reference(sr, sr, 4, labels=LABELS)[2] is False


@pytest.mark.parametrize(("hr_size", "scale"), [((44, 36), 4), ((40, 37), 1)])
def test_larger_size_differences_are_errors_naming_both_files(hr_size, scale):
    with pytest.raises(DasrError, match=r"^'a_sr\.png' is 36x40 but its HR 'a_hr\.png' is \d+x\d+: .*--scale"):
        align_to_reference(torch.rand(1, 3, 40, 36), torch.rand(1, 3, *hr_size), scale, labels=LABELS)


# --- result files ----------------------------------------------------------------------------


def test_csv_and_json_round_trip(tmp_path):
    values_a = {"psnr": 21.123456789012345, "ssim": 0.5, "psnr_y": 22.0, "ssim_y": 0.6}
    values_b = {"psnr": math.inf, "ssim": 1.0, "psnr_y": math.inf, "ssim_y": 1.0}  # identical images
    images = [
        ImageScores("a", Path("sr/a.png"), Path("hr/a.png"), False, values_a),
        ImageScores("b", Path("sr/b.png"), Path("hr/b.png"), True, values_b),
    ]
    report = EvaluationReport(images, protocol={"scale": 4}, notices=["LPIPS skipped: x"])
    csv_path, json_path = write_report(report, tmp_path / "out")
    rows = list(csv.DictReader(csv_path.open()))
    assert [row["name"] for row in rows] == ["a", "b", "mean"]
    assert rows[0]["sr"] == str(Path("sr/a.png")) and rows[1]["cropped"] == "1"
    assert float(rows[0]["psnr"]) == images[0].values["psnr"] and float(rows[1]["psnr"]) == math.inf
    assert float(rows[2]["ssim"]) == 0.75 and "lpips" not in rows[0]
    data = json.loads(json_path.read_text())  # strict JSON: no Infinity
    assert data["images"][0] == {"name": "a", "sr": "sr/a.png", "hr": "hr/a.png", "cropped": False, **images[0].values}
    assert data["images"][1]["psnr"] is None and data["mean"]["psnr"] is None and data["mean"]["ssim"] == 0.75
    assert data["protocol"] == {"scale": 4} and data["notices"] == ["LPIPS skipped: x"] and data["distances"] is None
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["metrics.csv", "metrics.json"]  # no temp files


# --- LPIPS -----------------------------------------------------------------------------------


def test_lpips_without_weights_is_a_one_line_notice_and_the_rest_is_reported(two_pairs, offline):
    pairs, _ = two_pairs
    report = evaluate_pairs(pairs, scale=4, progress=False)
    [notice] = report.notices
    assert "\n" not in notice and notice.startswith("LPIPS skipped")
    assert f"alexnet-owt-7be5be79.pth in {offline}" in notice
    assert set(report.images[0].values) == {"psnr", "ssim", "psnr_y", "ssim_y", *WEIGHT_FREE}
    assert evaluate_pairs(pairs, scale=4, lpips="off", progress=False).notices == []
    with pytest.raises(DasrError, match=r"^--lpips on: AlexNet weights are not available offline"):
        evaluate_pairs(pairs, scale=4, lpips="on", progress=False)


def test_lpips_without_its_package_is_a_one_line_notice(two_pairs, offline, monkeypatch):
    """The ``lpips`` package is optional for users: hiding it must not break ``dasr eval``."""
    monkeypatch.setitem(sys.modules, "lpips", None)  # ``import lpips`` now raises ImportError
    pairs, _ = two_pairs
    [notice] = evaluate_pairs(pairs, scale=4, progress=False).notices
    assert notice.startswith("LPIPS skipped: the lpips package is not installed (pip install lpips)")
    with pytest.raises(DasrError, match=r"^--lpips on: the lpips package is not installed"):
        evaluate_pairs(pairs, scale=4, lpips="on", progress=False)


def test_lpips_is_computed_when_its_weights_are_on_disk(two_pairs, offline, monkeypatch):
    pairs, arrays = two_pairs
    offline.mkdir(parents=True)
    (offline / "alexnet-owt-7be5be79.pth").touch()  # presence is what is checked
    torch.manual_seed(0)
    network = LPIPSLoss(None)  # random trunk: the wiring is tested, not AlexNet
    monkeypatch.setattr(lpips_metric, "LPIPSLoss", lambda weights: network if weights == "imagenet" else None)
    report = evaluate_pairs(pairs, scale=4, lpips="on", progress=False)
    sr, hr = (torch.from_numpy(a / 255.0).permute(2, 0, 1)[None].float() for a in arrays[1])
    expected = network.lpips(2 * sr - 1, 2 * hr - 1).item()  # the lpips package, whole image
    assert report.images[1].values["lpips"] == pytest.approx(expected, rel=1e-5)
    assert report.notices == [] and report.protocol["lpips"].startswith("LPIPS AlexNet v0.1")


# --- FID / KID math ----------------------------------------------------------------------------


def test_frechet_distance_of_known_gaussians():
    mu_a, mu_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    std_a, std_b = np.array([1.0, 2.0, 0.5]), np.array([3.0, 2.0, 1.5])
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((std_a - std_b) ** 2)  # diagonal case, closed form
    assert frechet_distance(mu_a, np.diag(std_a**2), mu_b, np.diag(std_b**2)) == pytest.approx(expected, rel=1e-12)
    assert frechet_distance(np.zeros(1), np.eye(1) * 4, np.ones(1), np.eye(1)) == pytest.approx(2.0)


def test_frechet_distance_equals_the_scipy_sqrtm_formula():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    sigma_a, sigma_b = a @ a.T + 0.1 * np.eye(6), b @ b.T + 0.1 * np.eye(6)
    mu_a, mu_b = rng.normal(size=6), rng.normal(size=6)
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a + sigma_b - 2 * sqrtm(sigma_a @ sigma_b).real)
    assert frechet_distance(mu_a, sigma_a, mu_b, sigma_b) == pytest.approx(expected, rel=1e-9)


def test_fid_of_identical_sets_is_zero_even_with_singular_covariances():
    features = np.random.default_rng(0).normal(size=(20, 64))  # 20 samples < 64 dimensions
    assert feature_frechet_distance(features, features) == pytest.approx(0, abs=1e-9)
    assert feature_frechet_distance(features, features + 0.5) == pytest.approx(64 * 0.25, rel=1e-9)


@pytest.mark.parametrize("sizes", [(20, 30), (80, 90)])  # fewer samples than dimensions, and more
def test_fid_of_features_equals_the_gaussian_formula(sizes):
    rng = np.random.default_rng(sum(sizes))
    a, b = rng.normal(size=(sizes[0], 40)), rng.gamma(2.0, size=(sizes[1], 40))
    expected = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    # rel 1e-7: the eigenvalue route takes square roots of rounding errors when S is singular
    assert feature_frechet_distance(a, b) == pytest.approx(expected, rel=1e-7)


def test_kid_equals_the_unbiased_mmd_by_definition():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 3)), rng.normal(1.0, 1.0, size=(4, 3))
    kernel = lambda p, q: (p @ q / 3 + 1) ** 3
    m = 4  # the subset size: the smaller set, all of it; x is subsampled
    mean, std = kernel_inception_distance(x, y, subsets=50, seed=3)
    rng_copy = np.random.default_rng(3)
    values = []
    for _ in range(50):
        xs, ys = x[rng_copy.choice(5, m, replace=False)], y[rng_copy.choice(4, m, replace=False)]
        within = sum(kernel(p, q) for s in (xs, ys) for i, p in enumerate(s) for j, q in enumerate(s) if i != j)
        across = sum(kernel(p, q) for p in xs for q in ys)
        values.append(within / (m * (m - 1)) - 2 * across / m**2)
    assert (mean, std) == pytest.approx((np.mean(values), np.std(values)), rel=1e-10)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(2)
    a, b, shifted = rng.normal(size=(200, 16)), rng.normal(size=(200, 16)), rng.normal(0.5, 1, size=(200, 16))
    same = kernel_inception_distance(a, b, subset_size=100)[0]
    different = kernel_inception_distance(a, shifted, subset_size=100)[0]
    assert abs(same) < 0.02 < different


# --- FID / KID feature extractors --------------------------------------------------------------


def test_fid_without_inception_weights_is_a_notice(two_pairs, offline):
    pairs, _ = two_pairs
    report = evaluate_pairs(pairs, scale=4, lpips="off", fid=True, progress=False)
    assert report.distances is None
    [notice] = report.notices
    assert notice.startswith("FID/KID skipped: no Inception weights") and PYTORCH_FID_FILE in notice


def test_fid_needs_two_images_per_set(two_pairs, offline):
    pairs, _ = two_pairs
    report = evaluate_pairs(pairs[:1], scale=4, lpips="off", fid=True, progress=False)
    assert report.distances is None and "at least 2 images" in report.notices[0]


def test_torchvision_inception_from_the_hub_cache(two_pairs, offline):
    pairs, _ = two_pairs
    from torchvision.models import inception_v3

    offline.mkdir(parents=True)
    torch.manual_seed(0)
    network = inception_v3(weights=None, aux_logits=True, init_weights=False)  # random: wiring only
    torch.save(network.state_dict(), offline / TORCHVISION_WEIGHTS.url.rsplit("/", 1)[1])
    report = evaluate_pairs(pairs, scale=4, lpips="off", fid=True, progress=False)
    distances = report.distances
    assert distances["features"].startswith("torchvision")
    assert (distances["sr_images"], distances["hr_images"]) == (2, 2)
    assert math.isfinite(distances["fid"]) and distances["fid"] > 0
    assert len(report.notices) == 1 and "not comparable with published FIDs" in report.notices[0]


def test_pytorch_fid_weights_are_preferred(two_pairs, offline, monkeypatch):
    pairs, _ = two_pairs

    class StubInception(torch.nn.Module):  # pytorch-fid's interface: list of (N, 2048, 1, 1)
        BLOCK_INDEX_BY_DIM: ClassVar[dict[int, int]] = {2048: 3}

        def __init__(self, blocks):
            super().__init__()
            assert blocks == [3]

        def forward(self, image):
            return [image.mean(dim=(2, 3), keepdim=True).repeat(1, 4, 1, 1)]

    package, module = types.ModuleType("pytorch_fid"), types.ModuleType("pytorch_fid.inception")
    module.InceptionV3, package.inception = StubInception, module
    monkeypatch.setitem(sys.modules, "pytorch_fid", package)
    monkeypatch.setitem(sys.modules, "pytorch_fid.inception", module)
    offline.mkdir(parents=True)
    (offline / PYTORCH_FID_FILE).touch()
    sr, hr = [p.sr for p in pairs], [p.hr for p in pairs]
    scores, notice = fid_module.folder_distances(sr, hr, device=torch.device("cpu"), progress=False)
    assert notice is None and scores["features"].startswith("pytorch-fid") and scores["fid"] >= 0
