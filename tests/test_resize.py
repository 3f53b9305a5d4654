import numpy as np
import pytest
import torch
from PIL import Image

from dasr.ops.resize import bicubic_downscale, bicubic_geometry
from tests.helpers import expected_window, receptive_window


def matlab_imresize_matrix(length: int, scale: int) -> np.ndarray:
    """The (length/scale, length) matrix of MATLAB imresize(..., 1/scale, 'bicubic'), from its
    definition: Keys cubic (a = -0.5) widened by scale, rows normalised, indices mirrored with
    aux = [1:n, n:-1:1]."""

    def cubic(t):
        t = np.abs(t)
        return np.where(
            t <= 1, 1.5 * t**3 - 2.5 * t**2 + 1, np.where(t < 2, -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2, 0)
        )

    out = length // scale
    centres = (np.arange(out) + 0.5) * scale - 0.5  # 0-based input coordinate of each output
    taps = np.floor(centres[:, None] - 2 * scale) + np.arange(4 * scale + 2)[None, :]
    weights = cubic((centres[:, None] - taps) / scale)
    weights /= weights.sum(1, keepdims=True)
    aux = np.concatenate([np.arange(length), np.arange(length)[::-1]])
    matrix = np.zeros((out, length))
    np.add.at(
        matrix,
        (np.arange(out)[:, None].repeat(taps.shape[1], 1), aux[taps.astype(int) % (2 * length)]),
        weights,
    )
    return matrix


@pytest.mark.parametrize("scale, size", [(2, (12, 16)), (4, (16, 24)), (4, (4, 8))])
def test_equals_matlab_imresize_including_borders(scale, size):
    x = torch.rand(1, 2, *size, dtype=torch.float64)
    reference = np.einsum("ih,nchw,jw->ncij", matlab_imresize_matrix(size[0], scale), x.numpy(),
                          matlab_imresize_matrix(size[1], scale))  # fmt: skip
    np.testing.assert_allclose(bicubic_downscale(x, scale).numpy(), reference, atol=1e-12)


@pytest.mark.parametrize("scale", [2, 4])
def test_close_to_pillow_bicubic(scale):
    image = np.random.default_rng(scale).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    pillow = np.asarray(
        Image.fromarray(image).resize((64 // scale, 48 // scale), Image.BICUBIC), dtype=np.float64
    )
    x = torch.from_numpy(image).permute(2, 0, 1)[None].double()
    ours = bicubic_downscale(x, scale)[0].permute(1, 2, 0).numpy().round().clip(0, 255)
    # Away from the border both use the same kernel, but Pillow computes in fixed point and
    # rounds and clips an 8-bit intermediate image between its horizontal and vertical passes:
    # on this noise image 8-bit results differ by at most 2 (x2) / 1 (x4), mean ~0.15 / ~0.10.
    # Within 2 LR pixels (2 * scale HR pixels) of the border Pillow renormalises the truncated
    # kernel where MATLAB (and we) mirror the image: there the difference reaches 13/255 (x2)
    # and 9/255 (x4) on this image.
    difference = np.abs(ours - pillow)[2:-2, 2:-2]
    assert difference.max() <= 2
    assert difference.mean() < 0.25


def test_constant_image_stays_constant():
    x = torch.full((1, 3, 16, 20), 0.7)
    torch.testing.assert_close(bicubic_downscale(x, 4), torch.full((1, 3, 4, 5), 0.7))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scale_one_is_identity_and_dtype_kept(dtype):
    x = torch.rand(1, 3, 5, 7, dtype=dtype)
    assert bicubic_downscale(x, 1) is x
    assert bicubic_downscale(torch.rand(1, 3, 4, 6, dtype=dtype), 2).dtype == dtype


def test_gradients():
    x = torch.rand(1, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: bicubic_downscale(t, 2), (x,))
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    bicubic_downscale(x, 4).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().min() > 0


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_geometry_measured_from_gradients(scale):
    index = (4, 3)
    x = torch.rand(1, 1, 12 * scale, 12 * scale, dtype=torch.float64)
    window = receptive_window(lambda t: bicubic_downscale(t, scale), x, index)
    assert window == expected_window(bicubic_geometry(scale), index)


def test_bad_arguments():
    with pytest.raises(ValueError, match="not divisible by the downscale factor 4"):
        bicubic_downscale(torch.rand(1, 3, 10, 12), 4)
    with pytest.raises(ValueError, match="positive integer"):
        bicubic_downscale(torch.rand(1, 3, 8, 8), 0)
    with pytest.raises(TypeError, match="floating-point"):
        bicubic_downscale(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), 2)
