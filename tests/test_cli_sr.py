"""``dasr sr``: bit depth, grey, alpha and orientation kept; skip/overwrite; bad files listed."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from dasr.cli.main import main
from dasr.data.image_io import decode_image, read_image, write_image
from dasr.inference.api import load_model
from tests.test_inference_api import write_model
from tests.test_inference_tiled import tiny_net


@pytest.fixture
def model(tmp_path: Path) -> Path:
    net = tiny_net()
    with torch.no_grad():
        net.conv_last.bias.fill_(0.5)
    return write_model(tmp_path / "run" / "model.safetensors", net)


def rotated_jpeg(path: Path) -> Path:
    """A 6x4 JPEG whose EXIF says 'rotate 90 degrees': displayed 4 wide, 6 high."""
    exif = PILImage.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    PILImage.new("RGB", (6, 4), (200, 100, 50)).save(buffer, "JPEG", exif=exif)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    rng = np.random.default_rng(0)
    write_image(folder / "rgb8.png", rng.random((5, 7, 3)))
    write_image(folder / "rgb16.png", rng.random((5, 7, 3)), bit_depth=16)
    write_image(folder / "grey16.png", rng.random((5, 7, 1)), bit_depth=16)
    write_image(folder / "rgba.png", rng.random((5, 7, 3)), alpha=rng.random((5, 7)))
    write_image(folder / "grey_alpha.png", rng.random((5, 7, 1)), alpha=rng.random((5, 7)))
    rotated_jpeg(folder / "photo.jpg")
    return folder


def sr(*args: str | Path) -> int:
    return main(["sr", *map(str, args)])


def test_folder_keeps_depth_grey_alpha_and_orientation(model: Path, inputs: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert sr("--model", model.parent, "--input", inputs, "--output", out, "--tile", "32", "--device", "cpu") == 0
    assert "upscaled 6 images x4 into" in capsys.readouterr().out
    expected = {  # name: (dtype, channels, has alpha)
        "rgb8": (np.uint8, 3, False),
        "rgb16": (np.uint16, 3, False),
        "grey16": (np.uint16, 1, False),
        "rgba": (np.uint8, 3, True),
        "grey_alpha": (np.uint8, 1, True),
        "photo": (np.uint8, 3, False),
    }
    for name, (dtype, channels, has_alpha) in expected.items():
        samples, alpha = decode_image(out / f"{name}.png")
        height, width = (24, 16) if name == "photo" else (20, 28)
        assert samples.dtype == dtype and samples.shape == (height, width, channels), name
        assert (alpha is not None) == has_alpha, name
    upscaled = load_model(model, device="cpu").upscale(read_image(inputs / "rgb16.png"), tile=32)
    np.testing.assert_allclose(read_image(out / "rgb16.png").pixels, np.clip(upscaled.pixels, 0, 1), atol=0.5 / 65535)


def test_existing_outputs_are_skipped_unless_overwrite(model: Path, inputs: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert sr("--model", model, "--input", inputs, "--output", out) == 0
    (out / "rgb8.png").write_bytes(b"stale")
    assert sr("--model", model, "--input", inputs, "--output", out) == 0
    assert "upscaled 0 images" in capsys.readouterr().out and (out / "rgb8.png").read_bytes() == b"stale"
    assert sr("--model", model, "--input", inputs, "--output", out, "--overwrite") == 0
    assert "upscaled 6 images" in capsys.readouterr().out
    assert decode_image(out / "rgb8.png")[0].shape == (20, 28, 3)


def test_bad_file_is_listed_and_exit_status_is_one(model: Path, inputs: Path, tmp_path: Path, capsys) -> None:
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "out"
    assert sr("--model", model, "--input", inputs, "--output", out) == 1
    captured = capsys.readouterr()
    assert "upscaled 6 images" in captured.out and "1 failed" in captured.out
    failures = [line for line in captured.err.splitlines() if line.startswith("dasr: failed:")]
    assert len(failures) == 1 and "broken.png" in failures[0]
    assert not (out / "broken.png").exists()
    good = sorted(f"{path.stem}.png" for path in inputs.iterdir() if path.stem != "broken")
    assert sorted(path.name for path in out.iterdir()) == good
    assert sr("--model", model, "--input", inputs, "--output", out, "--skip-bad") == 0


def test_single_file_with_suffix_and_extension(model: Path, inputs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    single = inputs / "rgb16.png"
    assert sr("--model", model, "--input", single, "--output", out, "--suffix", "_x4", "--ext", "tif") == 0
    assert [path.name for path in out.iterdir()] == ["rgb16_x4.tif"]
    assert decode_image(out / "rgb16_x4.tif")[0].dtype == np.uint16
    assert sr("--model", model, "--input", inputs / "photo.jpg", "--output", out, "--ext", "same", "--fp32") == 0
    assert (out / "photo.jpg").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ext", "png", "--input", "{clash}"], "would both be written to"),
        (["--input", "{inputs}", "--output", "{inputs}", "--ext", "same"], "would replace its input"),
        (["--input", "{tmp}/nothing"], "--input: folder '.*nothing' does not exist"),
        (["--model", "{tmp}/none.pth"], "--model: '.*none.pth' does not exist"),
        (["--tile", "0"], "--tile must be a positive number of pixels"),
    ],
)
def test_user_errors_are_one_line(
    model: Path, inputs: Path, tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    clash = tmp_path / "clash"
    clash.mkdir()
    for name in ("a.png", "a.jpg"):
        PILImage.new("RGB", (4, 4)).save(clash / name)
    values = {"clash": clash, "inputs": inputs, "tmp": tmp_path}
    defaults = {"--model": str(model), "--input": str(inputs), "--output": str(tmp_path / "out")}
    given = [arg.format(**values) for arg in args]
    for option, value in defaults.items():
        if option not in given:
            given += [option, value]
    assert main(["sr", *given]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert re.search(message, error), error
