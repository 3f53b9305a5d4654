"""``dasr.load_model``: every model source, every image kind in and out, precision, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image as PILImage
from safetensors.torch import save_file

import dasr
from dasr.archs.rrdbnet import RRDBNet
from dasr.data.image_io import Image
from dasr.errors import DasrError
from dasr.inference.api import Upscaler, load_model
from dasr.inference.loading import load_sr_network
from tests.helpers import tiny_net, write_model


def srn_checkpoint(net: RRDBNet, iteration: int = 5) -> dict:
    """What ``dasr train-srn`` saves, reduced to what loading reads (``params`` is another net)."""
    return {
        "format": "dasr-srn",
        "params": tiny_net(seed=9).state_dict(),
        "params_ema": net.state_dict(),
        "config": {"scale": net.scale},
        "iteration": iteration,
    }


def save_pth(path: Path, content: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(content, path)
    return path


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    """A tiny random model whose outputs lie around 0.5, inside [0, 1] like a trained one's."""
    net = tiny_net()
    with torch.no_grad():
        net.conv_last.bias.fill_(0.5)
    return write_model(tmp_path / "model.safetensors", net)


@pytest.fixture
def upscaler(model_path: Path) -> Upscaler:
    return load_model(model_path, device="cpu")


def output_of(net: RRDBNet, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return net(x)


# --- sources ---------------------------------------------------------------------------------


def sources(tmp_path: Path, net: RRDBNet) -> dict[str, tuple[Path, str]]:
    """Each way of handing over ``net`` and the ``kind`` loading must report."""
    other = tiny_net(seed=3)
    state = net.state_dict()
    save_file(state, tmp_path / "s.safetensors")
    return {
        "model file": (write_model(tmp_path / "m" / "model.safetensors", net), "model file"),
        "fit run with model": (write_model(tmp_path / "fit" / "model.safetensors", net).parent, "model file"),
        "fit run, training": (save_pth(tmp_path / "fit2/srn/checkpoints/last.pth", srn_checkpoint(net)).parents[2],
                              "dasr-srn checkpoint"),
        "checkpoint": (save_pth(tmp_path / "c" / "iter.pth", srn_checkpoint(net)), "dasr-srn checkpoint"),
        "BasicSR pth": (save_pth(tmp_path / "b" / "net_g.pth", {"params": other.state_dict(), "params_ema": state}),
                        "RRDB weights"),
        "safetensors": (tmp_path / "s.safetensors", "RRDB weights"),
    }


def test_every_source_gives_the_same_network(tmp_path: Path) -> None:
    net = tiny_net()
    x = torch.rand(1, 3, 6, 7)
    for name, (path, kind) in sources(tmp_path, net).items():
        loaded, info = load_sr_network(path)
        assert info["kind"] == kind, name
        assert info["scale"] == 4 and info["hyperparameters"]["num_blocks"] == 1, name
        assert not loaded.training
        torch.testing.assert_close(output_of(loaded, x), output_of(net, x), rtol=0, atol=0, msg=name)


def test_train_srn_run_prefers_best_checkpoint(tmp_path: Path) -> None:
    best, last = tiny_net(seed=1), tiny_net(seed=2)
    save_pth(tmp_path / "run/checkpoints/last.pth", srn_checkpoint(last, iteration=8))
    save_pth(tmp_path / "run/checkpoints/best.pth", srn_checkpoint(best, iteration=6))
    loaded, info = load_sr_network(tmp_path / "run")
    assert info["source"].endswith("best.pth") and info["iteration"] == 6
    torch.testing.assert_close(loaded.state_dict(), best.state_dict())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing.pth", r"--model: '.*missing.pth' does not exist"),
        (lambda root: root, r"--model: folder '.*' holds no model.safetensors and no stage-2 checkpoint"),
        (lambda root: save_pth(root / "dsn.pth", {"format": "dasr-dsn", "params": {}}),
         r"--model: '.*dsn.pth' is a 'dasr-dsn' checkpoint, not an SR network"),
        (lambda root: save_pth(root / "srn.pth", {"format": "dasr-srn", "params": {}}),
         r"--model: '.*srn.pth' holds no 'params_ema' weights"),
        (lambda root: save_pth(root / "other.pth", {"weight": torch.zeros(2)}),
         r"--model: weights file '.*other.pth' holds no RRDBNet weights in a recognised naming"),
        (lambda root: root / "junk.safetensors", r"--model: weights file '.*junk.safetensors' is not a readable"),
        (lambda root: root / "junk.pth", r"--model: checkpoint '.*junk.pth' is corrupt"),
    ],
)
def test_loading_errors_are_one_line(tmp_path: Path, make, message: str) -> None:
    (tmp_path / "junk.safetensors").write_bytes(b"not a tensor file")
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    path = make(tmp_path)
    with pytest.raises(DasrError, match=message) as error:
        load_sr_network(path)
    assert "\n" not in str(error.value)


def test_grey_model_is_refused(tmp_path: Path) -> None:
    torch.manual_seed(0)
    grey = RRDBNet(4, num_features=8, num_blocks=1, growth_channels=4, in_channels=1, out_channels=1)
    with pytest.raises(DasrError, match="maps 1 to 1 channels; only RGB models"):
        load_model(write_model(tmp_path / "grey.safetensors", grey), device="cpu")


def test_load_model_is_exported(model_path: Path) -> None:
    assert dasr.load_model is load_model
    upscaler = dasr.load_model(model_path, device="cpu")
    assert upscaler.scale == 4
    assert upscaler.info["kind"] == "model file" and upscaler.info["precision"] == "fp32"


# --- precision -------------------------------------------------------------------------------


def test_cpu_never_uses_half_precision(model_path: Path) -> None:
    with pytest.warns(UserWarning, match="precision fp16 is not used on the CPU; computing in fp32"):
        upscaler = load_model(model_path, device="cpu", precision="fp16")
    assert upscaler.info["precision"] == "fp32"
    with pytest.raises(DasrError, match="precision must be one of auto, fp32, fp16, bf16, got 'half'"):
        load_model(model_path, device="cpu", precision="half")


# --- image kinds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("L", "L"), ("LA", "LA"), ("RGB", "RGB"), ("RGBA", "RGBA"), ("I;16", "I;16"), ("I;16B", "I;16"),
     ("I", "I"), ("F", "F"), ("1", "L"), ("P", "RGB"), ("PA", "RGBA"), ("CMYK", "RGB")],
)
def test_pil_modes(upscaler: Upscaler, mode: str, expected: str) -> None:
    image = PILImage.fromarray(np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)).convert(mode)
    out = upscaler.upscale(image)
    assert out.mode == expected and out.size == (28, 20)


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [
        ((5, 6), np.uint8),
        ((5, 6, 1), np.uint16),
        ((5, 6, 2), np.float32),
        ((5, 6, 3), np.float64),
        ((5, 6, 4), np.uint8),
    ],
)
def test_numpy_arrays_keep_dtype_and_layout(upscaler: Upscaler, shape: tuple[int, ...], dtype: type) -> None:
    values = np.random.default_rng(0).random(shape)
    array = values.astype(dtype) if np.issubdtype(dtype, np.floating) else (values * np.iinfo(dtype).max).astype(dtype)
    out = upscaler.upscale(array)
    assert out.dtype == dtype and out.shape == (20, 24, *shape[2:])
    if np.issubdtype(dtype, np.floating):
        assert 0 <= out.min() and out.max() <= 1


def test_grey_is_the_mean_of_the_rgb_output(upscaler: Upscaler) -> None:
    grey = np.random.default_rng(0).random((6, 5)).astype(np.float32)
    rgb = upscaler.upscale(np.repeat(grey[..., None], 3, axis=2))
    np.testing.assert_allclose(upscaler.upscale(grey), np.clip(rgb, 0, 1).mean(axis=2), atol=1e-6)


def test_alpha_is_bicubic_and_colour_ignores_it(upscaler: Upscaler) -> None:
    rng = np.random.default_rng(0)
    colour, alpha = rng.random((6, 5, 3)).astype(np.float32), rng.random((6, 5)).astype(np.float32)
    out = upscaler.upscale(np.concatenate([colour, alpha[..., None]], axis=2))
    bicubic = F.interpolate(torch.from_numpy(alpha)[None, None], scale_factor=4, mode="bicubic").clamp(0, 1)
    np.testing.assert_allclose(out[..., 3], bicubic[0, 0].numpy(), atol=1e-6)
    np.testing.assert_array_equal(out[..., :3], upscaler.upscale(colour))


def test_sixteen_bit_precision_is_kept(upscaler: Upscaler) -> None:
    ramp = np.linspace(0.3, 0.3 + 40 / 65535, 6 * 5 * 3).reshape(6, 5, 3)
    out = upscaler.upscale(np.rint(ramp * 65535).astype(np.uint16))
    expected = np.rint(np.clip(upscaler.upscale(np.rint(ramp * 65535) / 65535), 0, 1) * 65535)
    np.testing.assert_array_equal(out, expected)
    assert np.any(out % 257 != 0)  # not 8-bit values in disguise


def test_dasr_image_keeps_bit_depth(upscaler: Upscaler) -> None:
    image = Image(pixels=np.full((4, 3, 1), 0.5, np.float32), alpha=np.ones((4, 3), np.float32), bit_depth=16)
    out = upscaler.upscale(image)
    assert out.pixels.shape == (16, 12, 1) and out.alpha.shape == (16, 12) and out.bit_depth == 16


@pytest.mark.parametrize(
    ("image", "message"),
    [([[0.5]], "cannot upscale a list"), (np.zeros((4, 4), np.int32), "cannot upscale a int32 array"),
     (np.zeros((4, 4, 5)), r"shape \(4, 4, 5\)"), (np.zeros((0, 4)), r"shape \(0, 4\)")],
)
def test_bad_images_are_user_errors(upscaler: Upscaler, image, message: str) -> None:
    with pytest.raises(DasrError, match=message):
        upscaler.upscale(image)


def test_threads_share_one_upscaler(upscaler: Upscaler) -> None:
    rng = np.random.default_rng(0)
    images = [rng.random((9 + index, 11, 3)).astype(np.float32) for index in range(8)]
    sequential = [upscaler.upscale(image, tile=32) for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda image: upscaler.upscale(image, tile=32), images))
    for one, other in zip(sequential, concurrent):
        np.testing.assert_array_equal(one, other)
