import numpy as np
import pytest
import pywt
import torch

from dasr.ops.wavelet import HAAR_GEOMETRY, haar_dwt


@pytest.mark.parametrize("size", [(8, 12), (7, 9), (6, 5), (1, 1)])
def test_haar_dwt_equals_pywavelets(size):
    # pywt.dwt2 returns (cA, (cH, cV, cD)); ours is (ll, lh, hl, hh) in that order, and its
    # default 'symmetric' mode defines the odd sizes.
    x = torch.rand(2, 3, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ours = haar_dwt(x)
    ca, (ch, cv, cd) = pywt.dwt2(x.numpy(), "haar", axes=(-2, -1))
    for band, reference in zip(ours, (ca, ch, cv, cd), strict=True):
        assert band.shape == (2, 3, (size[0] + 1) // 2, (size[1] + 1) // 2)
        np.testing.assert_allclose(band.numpy(), reference, atol=1e-12)


def test_haar_dwt_band_meaning():
    # lh responds to horizontal edges (top minus bottom), hl to vertical ones (left minus right).
    block = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    ll, lh, hl, hh = (band.item() for band in haar_dwt(block))
    assert (ll, lh, hl, hh) == (5.0, -2.0, -1.0, 0.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_haar_dwt_keeps_dtype_and_energy(dtype):
    x = torch.randn(1, 2, 6, 8, dtype=dtype)
    bands = haar_dwt(x)
    assert all(band.dtype == dtype for band in bands)
    # Orthonormal transform: Parseval.
    energy = sum(band.square().sum() for band in bands)
    torch.testing.assert_close(energy, x.square().sum())


def test_haar_dwt_gradcheck_odd_size():
    x = torch.rand(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: torch.cat(haar_dwt(t), 1), (x,))


def test_haar_dwt_rejects_bad_input():
    with pytest.raises(ValueError, match="N, C, H, W"):
        haar_dwt(torch.rand(3, 8, 8))
    with pytest.raises(TypeError, match="floating-point"):
        haar_dwt(torch.zeros(1, 1, 4, 4, dtype=torch.uint8))


def test_haar_geometry():
    assert (HAAR_GEOMETRY.size, HAAR_GEOMETRY.stride, HAAR_GEOMETRY.padding) == (2, 2, 0)
