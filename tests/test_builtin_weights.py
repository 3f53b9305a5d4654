"""Named starting weights for stage 2 (``srn.init``): the built-in RRDBs shipped with the package,
the public models of ESRGAN / Real-ESRGAN through torch's hub cache (never downloaded here),
``none``, and the one-line errors for wrong names and sizes."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data as skimage_data

from dasr.archs.rrdbnet import RRDBNet
from dasr.archs.weights import load_rrdbnet
from dasr.cli.main import build_parser, main
from dasr.cli.options import config_from_args
from dasr.config.loader import load_config
from dasr.demo.run import BASELINE
from dasr.errors import DasrError
from dasr.inference.model_file import read_model_metadata
from dasr.metrics.protocol import psnr_ssim, quantize_8bit
from dasr.ops.resize import bicubic_downscale
from dasr.pipeline.ablation_variants import TABLE2_VARIANTS
from dasr.pipeline.builtin_weights import interpolating_start
from dasr.stage2_srn.networks import build_srn_networks
from dasr.weights import PUBLIC_WEIGHTS, builtin_names, resolve_init
from dasr.weights.builtin import BUILTIN_DIR
from tests.conftest import TINY_SRN

SCALES = (4, 2)


def small_config(scale: int, *extra: str):
    """``cpu-small`` at ``scale``: the network size the built-in weights are for."""
    return load_config("cpu-small", (), [f"scale={scale}", "device=cpu", *extra])


def astronaut_pair(scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A 192x192 crop of scikit-image's astronaut (face, hair, fabric) and its 8-bit bicubic LR:
    a photo the weights never saw (they were trained on wallpapers, not on scikit-image)."""
    hr = torch.from_numpy(np.ascontiguousarray(skimage_data.astronaut()[32:224, 160:352])).permute(2, 0, 1)
    hr = hr[None].float() / 255
    return hr, quantize_8bit(bicubic_downscale(hr, scale))


@pytest.mark.parametrize("scale", SCALES)
def test_builtin_weights_load_by_name_and_beat_bicubic_upsampling(scale: int) -> None:
    generator = build_srn_networks(small_config(scale, f"srn.init=builtin:rrdb-small-x{scale}")).generator.eval()
    hr, lr = astronaut_pair(scale)
    with torch.no_grad():
        network = psnr_ssim(generator(lr), hr, crop_border=scale)
    bicubic = psnr_ssim(F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False), hr,
                        crop_border=scale)
    assert network["psnr"] > bicubic["psnr"] + 0.3
    assert network["ssim"] > bicubic["ssim"]


@pytest.mark.parametrize("scale", SCALES)
def test_builtin_files_record_their_training_and_their_validation_figure(scale: int) -> None:
    path = BUILTIN_DIR / f"rrdb-small-x{scale}.safetensors"
    assert path.stat().st_size < 4 * 2**20  # "a few MB at most"
    metadata = read_model_metadata(path)
    training = metadata["training"]
    assert metadata["scale"] == scale and metadata["preset"] == "cpu-small"
    assert training["iterations"] == training["recipe"]["iters"] > 0
    assert set(training["photos"]).isdisjoint(training["held_out"])
    assert all("GPL" in licence or "CC-BY" in licence for licence in training["photos"].values())
    validation = training["validation"]
    assert validation["network"]["psnr"] > validation["bicubic"]["psnr"]
    assert "train_builtin_weights.py" in training["command"] and training["date"]


@pytest.mark.parametrize("scale", SCALES)
def test_the_scale_free_name_picks_the_configured_scale(scale: int) -> None:
    assert resolve_init("builtin:rrdb-small", scale) == BUILTIN_DIR / f"rrdb-small-x{scale}.safetensors"


def test_a_scale_without_builtin_weights_starts_from_scratch_and_says_so() -> None:
    with pytest.warns(UserWarning, match=r"no built-in weights for x1 .*starts from random weights"):
        assert resolve_init("builtin:rrdb-small", 1) is None
    with pytest.warns(UserWarning, match="no built-in weights for x1"):
        generator = build_srn_networks(small_config(1)).generator  # the preset still works at x1
    assert generator.scale == 1


def test_cpu_presets_and_every_compared_method_start_from_the_builtin_weights() -> None:
    config = load_config("cpu-small")
    assert config.srn.init == "builtin:rrdb-small"
    assert BASELINE.apply(config).srn.init == config.srn.init  # the demo's baseline
    assert {variant.apply(config).srn.init for variant in TABLE2_VARIANTS} == {config.srn.init}  # dasr ablate
    assert load_config("paper").srn.init is None  # the paper's presets keep the paper's start


def test_builtin_weights_of_another_scale_are_a_one_line_error() -> None:
    with pytest.raises(DasrError, match=r"^srn.init: builtin:rrdb-small-x4 holds an RRDBNet with scale=4 \(not 2\)"):
        build_srn_networks(small_config(2, "srn.init=builtin:rrdb-small-x4"))
    with pytest.raises(DasrError, match=r"srn.num_features=32 \(not 64\)") as error:
        build_srn_networks(small_config(4, "srn.init=builtin:rrdb-small-x4", "srn.num_features=64"))
    assert "\n" not in str(error.value)


def test_an_unknown_builtin_name_lists_the_available_ones() -> None:
    with pytest.raises(DasrError) as error:
        resolve_init("builtin:rrdb-large-x4", 4)
    message = str(error.value)
    assert message.startswith("srn.init: unknown built-in weights 'builtin:rrdb-large-x4'; available: ")
    assert all(name in message for name in builtin_names()) and "\n" not in message
    assert {"builtin:rrdb-small-x4", "builtin:rrdb-small-x2", "builtin:rrdb-small"} <= set(builtin_names())


@pytest.mark.parametrize("value", ["none", None])
def test_none_starts_from_random_weights(value) -> None:
    assert resolve_init(value, 4) is None
    torch.manual_seed(0)
    first = build_srn_networks(small_config(4, f"srn.init={'null' if value is None else value}")).generator
    torch.manual_seed(0)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), RRDBNet(
        4, num_features=32, num_blocks=2, growth_channels=16).state_dict().values()))


def test_an_unknown_name_is_a_one_line_error_naming_every_kind() -> None:
    with pytest.raises(DasrError) as error:
        resolve_init("RealESRGAN_x8", 4)
    message = str(error.value)
    assert message.startswith("srn.init: 'RealESRGAN_x8' is not a file, 'none', a built-in name")
    assert "RealESRNet_x4plus" in message and "builtin:rrdb-small-x4" in message and "\n" not in message


@pytest.fixture
def hub(tmp_path, monkeypatch) -> Path:
    """An empty torch hub cache in a temporary TORCH_HOME, and downloads that fail the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_download(*args, **kwargs):
        pytest.fail("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return tmp_path / "torch" / "hub" / "checkpoints"


def tiny_config(*extra: str):
    return load_config("paper", (), [*TINY_SRN, *extra])


def test_a_public_name_resolves_to_its_cached_file_offline(hub) -> None:
    torch.manual_seed(5)
    published = RRDBNet(4, num_features=8, num_blocks=1, growth_channels=4)
    hub.mkdir(parents=True)
    torch.save({"params_ema": published.state_dict()}, hub / "RealESRNet_x4plus.pth")  # Real-ESRGAN's layout
    generator = build_srn_networks(tiny_config("srn.init=RealESRNet_x4plus")).generator
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(), published.state_dict().values()))
    # The published networks are paper-size: another size is the usual hyper-parameter message.
    with pytest.raises(DasrError, match=r"^srn.init: RealESRNet_x4plus holds an RRDBNet with srn.num_features=8"):
        build_srn_networks(tiny_config("srn.init=RealESRNet_x4plus", "srn.num_features=16"))


def test_a_public_file_that_is_not_cached_offline_is_a_one_line_message(hub, monkeypatch) -> None:
    calls = []

    def offline(url, destination, *args, **kwargs):
        calls.append((url, destination))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    entry = PUBLIC_WEIGHTS["RealESRNet_x4plus"]
    with pytest.raises(DasrError) as error:
        resolve_init("RealESRNet_x4plus", 4)
    message = str(error.value)
    assert calls == [(entry.url, str(hub / entry.file))]
    assert message.startswith("srn.init=RealESRNet_x4plus: RealESRNet_x4plus.pth is not cached and cannot be downloaded")
    assert f"put RealESRNet_x4plus.pth in {hub}" in message and entry.url in message and "\n" not in message
    assert not (hub / entry.file).exists()


def test_a_public_file_without_a_direct_link_names_where_to_get_it(hub) -> None:
    with pytest.raises(DasrError) as error:
        resolve_init("RRDB_PSNR_x4", 4)
    message = str(error.value)
    assert "RRDB_PSNR_x4.pth is not cached and its project publishes no direct link" in message
    assert PUBLIC_WEIGHTS["RRDB_PSNR_x4"].url in message and str(hub) in message and "\n" not in message


def test_public_urls_are_the_projects_release_links() -> None:
    direct = [entry for entry in PUBLIC_WEIGHTS.values() if entry.direct]
    assert {"RealESRNet_x4plus", "RealESRGAN_x4plus", "ESRGAN_x4"} <= {entry.name for entry in direct}
    for entry in direct:
        assert entry.url.startswith("https://github.com/xinntao/Real-ESRGAN/releases/download/v")
        assert entry.url.endswith("/" + entry.file)


def train_srn_config(*argv: str):
    args = build_parser().parse_args(["train-srn", "--hr", "HR", "--scale", "4", "--out", "RUN", *argv])
    return config_from_args(args)


@pytest.mark.parametrize("weights", ["builtin:rrdb-small-x2", "RRDB_PSNR_x4", "none", "runs/x/model.safetensors"])
def test_init_option_is_the_short_form_of_set_srn_init(weights: str) -> None:
    short = train_srn_config("--preset", "cpu-small", "--init", weights)
    assert short == train_srn_config("--preset", "cpu-small", "--set", f"srn.init={weights}")
    assert short.srn.init == weights


def test_cli_wrong_init_name_is_one_line(photo_folders, tmp_path, capsys) -> None:
    code = main(["train-srn", "--hr", str(photo_folders["hr"]), "--scale", "4", "--out", str(tmp_path / "run"),
                 "--preset", "cpu-small", "--set", "srn.pairs=bicubic", "--set", "srn.adversarial=none",
                 "--init", "builtin:nope"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "unknown built-in weights 'builtin:nope'; available: builtin:rrdb-small-x2" in err


def test_the_recipe_starts_from_bilinear_interpolation(tmp_path) -> None:
    """The start the built-in weights were trained from (``interpolating_start``): at x2 it is
    exactly bilinear upsampling away from the zero-padded border."""
    network = load_rrdbnet(interpolating_start(2, 0, tmp_path / "start.safetensors")).eval()
    image = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        difference = network(image) - F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False)
    assert difference[..., 2:-2, 2:-2].abs().max() < 1e-5
    assert difference.abs().max() > 0.1  # the border is not (so the test can tell)
