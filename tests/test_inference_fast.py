"""The optimized (channels_last) inference path: same outputs as the plain forward, same weight
names, and a switch that turns it off, through the Python API and ``dasr sr``."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from PIL import Image as PILImage

from dasr.cli.main import main as cli_main
from dasr.inference.api import Upscaler, load_model
from dasr.inference.fast import prepare_for_inference
from dasr.inference.model_file import save_model
from dasr.ops.blended_tiling import upscale_tiled
from tests.helpers import image, tiny_net

TOLERANCE = 1e-4


def is_channels_last(network: torch.nn.Module) -> bool:
    return network.conv_first.weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("unshuffle", [1, 2])
def test_optimized_forward_equals_plain(unshuffle: int) -> None:
    plain = tiny_net(input_unshuffle=unshuffle, gain=10.0)
    names = list(plain.state_dict())
    fast = prepare_for_inference(copy.deepcopy(plain), torch.device("cpu"))
    lr = image(24, 40)
    with torch.inference_mode():
        expected, result = plain(lr), fast(lr)
    assert is_channels_last(fast) and not is_channels_last(plain)
    assert list(fast.state_dict()) == names
    assert (result - expected).abs().max() <= TOLERANCE
    tiled = upscale_tiled(fast, lr, scale=4, tile=40 * unshuffle)  # several tiles
    reference = upscale_tiled(plain, lr, scale=4, tile=40 * unshuffle)
    assert (tiled - reference).abs().max() <= TOLERANCE


def test_switch_keeps_the_plain_forward() -> None:
    network = prepare_for_inference(tiny_net(), torch.device("cpu"), optimize=False)
    assert not is_channels_last(network) and not network.training
    assert not any(parameter.requires_grad for parameter in network.parameters())


def test_without_onednn_the_plain_forward_is_used_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="oneDNN is not available"):
        network = prepare_for_inference(tiny_net(), torch.device("cpu"))
    assert not is_channels_last(network)


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    save_model(path, tiny_net(gain=10.0), weights="params_ema", preset="test", config={"scale": 4}, training={})
    return path


def test_load_model_optimizes_by_default_and_results_agree(model_file: Path) -> None:
    fast, plain = load_model(model_file, device="cpu"), load_model(model_file, device="cpu", optimize=False)
    assert fast.info["optimized"] and not plain.info["optimized"]
    pixels = image(20, 28)[0].permute(1, 2, 0).numpy()
    assert abs(fast.upscale(pixels) - plain.upscale(pixels)).max() <= TOLERANCE


@pytest.mark.parametrize("flag, optimized", [([], True), (["--no-optimize"], False)])
def test_cli_switch(
    model_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: list[str], optimized: bool
) -> None:
    seen: list[bool] = []

    def recording_load_model(*args: object, **kwargs: object) -> Upscaler:
        upscaler = load_model(*args, **kwargs)
        seen.append(upscaler.info["optimized"])
        return upscaler

    monkeypatch.setattr("dasr.inference.api.load_model", recording_load_model)
    source = tmp_path / "in.png"
    PILImage.new("RGB", (12, 10), (120, 60, 30)).save(source)
    status = cli_main(["sr", "--model", str(model_file), "--input", str(source), "--output", str(tmp_path / "out"), *flag])
    assert status == 0 and seen == [optimized]
    assert (tmp_path / "out" / "in.png").exists()
