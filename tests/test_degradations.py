"""Degradation operators and pipelines: kernels, noise statistics, JPEG, ranges, determinism."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dasr.degradations.blur import blur, gaussian_kernel, motion_kernel
from dasr.degradations.jpeg import jpeg_roundtrip
from dasr.degradations.noise import poisson_gaussian_noise
from dasr.degradations.pipeline import (
    degrade,
    parse_steps,
    preset_steps,
    sample_parameters,
)
from dasr.degradations.presets import PRESETS
from dasr.degradations.resize import downscale
from dasr.degradations.steps import STEP_TYPES
from dasr.errors import DasrError


def photo(height: int = 48, width: int = 40, seed: int = 0) -> np.ndarray:
    """A smooth colour field with some edges: enough structure for blur and JPEG to act on."""
    rng = np.random.default_rng(seed)
    coarse = (rng.random((height // 8 + 1, width // 8 + 1, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((width, height), Image.NEAREST), np.float32) / 255


def test_gaussian_kernel_is_normalised_and_oriented() -> None:
    iso = gaussian_kernel(1.0, 1.0, 0.0)
    assert iso.shape == (7, 7) and iso.sum() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(iso, iso.T, atol=1e-7)
    wide = gaussian_kernel(3.0, 0.5, 0.0)  # spread along x
    assert wide.shape == (19, 19)
    centre = 9
    assert wide[centre, centre + 4] > 10 * wide[centre + 4, centre]
    turned = gaussian_kernel(3.0, 0.5, 90.0)  # same blur, spread along y
    np.testing.assert_allclose(turned, wide.T, atol=1e-6)


@pytest.mark.parametrize("length", [1, 5, 7.0, 12.5])
def test_motion_kernel_sums_to_one_and_has_its_length(length: float) -> None:
    kernel = motion_kernel(length, 0.0)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-6)
    rows, columns = np.nonzero(kernel > 1e-6)
    assert set(rows) == {kernel.shape[0] // 2}  # horizontal line through the centre
    assert columns.max() - columns.min() + 1 == int(np.ceil(length))
    vertical = motion_kernel(length, 90.0)
    np.testing.assert_allclose(vertical, kernel.T, atol=1e-6)


@pytest.mark.parametrize(("length", "angle"), [(9, 45.0), (15, 30.0), (12.5, 120.0)])
def test_motion_kernel_is_a_centred_line_of_its_length_at_any_angle(length: float, angle: float) -> None:
    kernel = motion_kernel(length, angle).astype(np.float64)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-6)
    radius = kernel.shape[0] // 2
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    theta = np.radians(angle)
    along, across = x * np.cos(theta) + y * np.sin(theta), -x * np.sin(theta) + y * np.cos(theta)
    assert abs((kernel * along).sum()) < 1e-6 and abs((kernel * across).sum()) < 1e-6
    # a uniform line over [-(L-1)/2, (L-1)/2] has standard deviation (L-1)/sqrt(12); across it, under a pixel
    assert np.sqrt((kernel * along**2).sum()) == pytest.approx((length - 1) / np.sqrt(12), rel=0.03)
    assert np.sqrt((kernel * across**2).sum()) < 0.5


def test_blur_keeps_flat_images_and_smooths_edges() -> None:
    flat = np.full((20, 20, 3), 0.3, np.float32)
    for kernel in (gaussian_kernel(2.0, 0.7, 30.0), motion_kernel(6, 20.0)):
        np.testing.assert_allclose(blur(flat, kernel), flat, atol=1e-6)  # reflect borders: no dark edges
    image = photo()
    blurred = blur(image, gaussian_kernel(1.5, 1.5, 0.0))
    assert np.square(np.diff(blurred, axis=1)).mean() < 0.5 * np.square(np.diff(image, axis=1)).mean()


@pytest.mark.parametrize("method", ["bicubic", "bilinear", "area"])
@pytest.mark.parametrize("scale", [4, 2, 1])
def test_downscale_shapes(method: str, scale: int) -> None:
    small = downscale(photo(48, 40), scale, method)
    assert small.shape == (48 // scale, 40 // scale, 3) and small.dtype == np.float32
    assert 0.0 <= small.min() and small.max() <= 1.0


def test_pipeline_shapes_crop_hr_to_a_multiple_of_the_scale() -> None:
    image = photo(50, 43)
    for scale in (4, 2, 1):
        lr, hr, _ = degrade(image, preset_steps("phone-camera"), scale, seed=0, index=0)
        assert hr.shape == (50 - 50 % scale, 43 - 43 % scale, 3)
        assert lr.shape == (hr.shape[0] // scale, hr.shape[1] // scale, 3)
        np.testing.assert_array_equal(hr, image[: hr.shape[0], : hr.shape[1]])


def test_noise_variance_matches_a_x_plus_b_on_flat_images() -> None:
    rng = np.random.default_rng(1)
    a, b = 0.01, 0.0005
    for level in (0.2, 0.5):
        flat = np.full((200, 200, 3), level, np.float32)
        noisy = poisson_gaussian_noise(flat, a, b, 0.0, rng)
        assert noisy.var() == pytest.approx(a * level + b, rel=0.05)
        assert abs(noisy.mean() - level) < 0.002


def test_channel_correlation_is_measurable() -> None:
    flat = np.full((200, 200, 3), 0.5, np.float32)
    for correlation in (0.0, 0.5, 0.9):
        noise = poisson_gaussian_noise(flat, 0.004, 0.0002, correlation, np.random.default_rng(2)) - 0.5
        measured = np.corrcoef(noise.reshape(-1, 3).T)
        off_diagonal = measured[~np.eye(3, dtype=bool)]
        np.testing.assert_allclose(off_diagonal, correlation, atol=0.02)


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
def test_jpeg_is_a_real_pillow_round_trip(subsampling: str) -> None:
    image = photo(32, 32)
    out = jpeg_roundtrip(image, 40, subsampling)
    assert np.abs(out - image).mean() > 0.002
    samples = np.rint(image * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(samples).save(buffer, "JPEG", quality=40, subsampling=subsampling)
    expected = np.asarray(Image.open(buffer), np.float32) / 255
    np.testing.assert_array_equal(out, expected)


def test_jpeg_chroma_subsampling_changes_the_result() -> None:
    image = photo(32, 32)
    assert not np.array_equal(jpeg_roundtrip(image, 85, "4:2:0"), jpeg_roundtrip(image, 85, "4:4:4"))


def test_sampled_parameters_stay_in_their_ranges() -> None:
    steps = preset_steps("phone-camera")
    rng = np.random.default_rng(3)
    draws = [sample_parameters(steps, rng) for _ in range(500)]
    for step_index, step in enumerate(steps):
        for key, spec in step.ranges.items():
            values = [draw[step_index][key] for draw in draws]
            if STEP_TYPES[step.type].params[key].choices:
                assert set(values) == set(spec)  # every option drawn, nothing else
            elif isinstance(spec, list):
                assert spec[0] <= min(values) and max(values) <= spec[1]
                assert max(values) - min(values) > 0.8 * (spec[1] - spec[0])  # the whole range is used
            else:
                assert set(values) == {spec}
    qualities = {draw[3]["quality"] for draw in draws}
    assert qualities == set(range(70, 91))  # inclusive integers


def test_one_camera_is_the_same_camera_for_every_image() -> None:
    """Every image and seed draws the same parameters; only the noise differs, and after the
    JPEG step it is a few levels of 255 (below the sqrt(a*x + b) it had before JPEG)."""
    steps = preset_steps("one-camera")
    draws = [sample_parameters(steps, np.random.default_rng([seed, index])) for seed in range(3) for index in range(5)]
    assert all(draw == draws[0] for draw in draws) and [step["type"] for step in draws[0]] == [
        "anisotropic_blur", "downscale", "noise", "jpeg"]
    flat = np.full((256, 256, 3), 0.5, np.float32)
    first, second = (degrade(flat, steps, 4, seed=0, index=index)[0] for index in (0, 1))
    noise = draws[0][2]
    before_jpeg = np.sqrt(noise["a"] * 0.5 + noise["b"]) * 255
    for lr in (first, second):
        assert 0.4 * before_jpeg < lr.std() * 255 < before_jpeg and 2 < lr.std() * 255 < 8
    assert np.abs(first - second).mean() > 0.01


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_same_seed_same_output_different_seed_different(preset: str) -> None:
    image = photo(40, 40)
    steps = preset_steps(preset)
    first, _, drawn = degrade(image, steps, 2, seed=5, index=3)
    degrade(photo(40, 40, seed=9), steps, 2, seed=5, index=2)  # other images in between change nothing
    again, _, drawn_again = degrade(image, steps, 2, seed=5, index=3)
    assert first.tobytes() == again.tobytes() and drawn == drawn_again
    if preset != "bicubic":
        assert not np.array_equal(first, degrade(image, steps, 2, seed=6, index=3)[0])
        assert not np.array_equal(first, degrade(image, steps, 2, seed=5, index=4)[0])


def test_order_is_configurable() -> None:
    noise_then_down = parse_steps([{"type": "noise", "a": 0.01, "b": 0.001}, {"type": "downscale"}], "test")
    down_then_noise = parse_steps([{"type": "downscale"}, {"type": "noise", "a": 0.01, "b": 0.001}], "test")
    flat = np.full((64, 64, 3), 0.5, np.float32)
    early = degrade(flat, noise_then_down, 4, seed=0, index=0)[0]
    late = degrade(flat, down_then_noise, 4, seed=0, index=0)[0]
    assert early.var() < 0.3 * late.var()  # down-sampling averages the earlier noise away


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"type": "noise"}], "exactly one 'downscale' step, found 0"),
        ([{"type": "downscale"}, {"type": "sharpen"}], "step 2: unknown step type 'sharpen' (valid: isotropic_blur"),
        ([{"type": "downscale", "scale": 3}], "step 1 (downscale): unknown parameter 'scale' (valid: method)"),
        ([{"type": "downscale", "method": "lanczos"}], "step 1 (downscale): method: expected one of bicubic"),
        ([{"type": "downscale"}, {"type": "jpeg", "quality": [90, 70]}], "step 2 (jpeg): quality: range [90, 70]"),
        ([{"type": "downscale"}, {"type": "noise", "correlation": 1.5}], "step 2 (noise): correlation: range 1.5"),
        ([{"type": "downscale"}, {"type": "jpeg", "quality": "high"}], "quality: expected a number or a [low, high]"),
        ([], "'steps' must be a non-empty list"),
    ],
)
def test_bad_pipelines_are_one_line_errors(steps: list, message: str) -> None:
    with pytest.raises(DasrError) as error:
        parse_steps(steps, "cfg")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_unknown_preset_lists_the_valid_ones() -> None:
    with pytest.raises(DasrError, match=r"unknown preset 'x' \(valid: bicubic, aim2019-like, phone-camera, one-camera\)"):
        preset_steps("x")
