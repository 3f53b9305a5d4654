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
from tests.helpers import tiny_net, write_model


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
        (["--input", "{tmp}/nothing"], "--input: folder '.*nothing' does not exist"),
        (["--model", "{tmp}/none.pth"], "--model: '.*none.pth' does not exist"),
        (["--tile", "0"], "--tile must be a positive number of pixels"),
    ],
)
def test_user_errors_are_one_line(
    model: Path, inputs: Path, tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    values = {"inputs": inputs, "tmp": tmp_path}
    defaults = {"--model": str(model), "--input": str(inputs), "--output": str(tmp_path / "out")}
    given = [arg.format(**values) for arg in args]
    for option, value in defaults.items():
        if option not in given:
            given += [option, value]
    assert main(["sr", *given]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert re.search(message, error), error


def test_clashing_names_keep_their_extension_and_the_rest_is_done(model: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "a.jpg", "b.png"):
        PILImage.new("RGB", (4, 4), (10, 20, 30)).save(folder / name)
    (folder / "a_jpg.jpg").write_bytes((folder / "a.jpg").read_bytes())  # takes a.jpg's new name with --ext png
    out = tmp_path / "out"
    assert sr("--model", model, "--input", folder, "--output", out) == 1
    assert sorted(path.name for path in out.iterdir()) == ["a_png.png", "b.png"]
    failed = [line for line in capsys.readouterr().err.splitlines() if line.startswith("dasr: failed: ")]
    assert len(failed) == 2 and all("a_jpg.png' would also be written by" in line for line in failed)


def test_an_output_that_would_replace_its_input_fails_alone(model: Path, inputs: Path, capsys) -> None:
    (inputs / "extra.jpg").write_bytes((inputs / "photo.jpg").read_bytes())
    assert sr("--model", model, "--input", inputs, "--output", inputs, "--ext", "same", "--suffix", "") == 1
    err = capsys.readouterr().err
    assert err.count("would replace it") == 7  # every input, each named once; nothing overwritten
    assert decode_image(inputs / "photo.jpg")[0].shape == (6, 4, 3)


def test_gif_gives_its_first_frame_and_unknown_formats_are_named(model: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    frames = [PILImage.new("RGB", (4, 4), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    (folder / "phone.heic").write_bytes(b"not decoded")
    out = tmp_path / "out"
    assert sr("--model", model, "--input", folder, "--output", out) == 1
    err = capsys.readouterr().err
    assert "anim.gif' is animated (2 frames): using its first frame" in err
    assert f"dasr: failed: '{folder / 'phone.heic'}': not a format dasr reads" in err
    assert read_image(out / "anim.png").pixels.shape == (16, 16, 3)


@pytest.mark.parametrize("scale, input_unshuffle", [(4, 1), (2, 2)])
def test_pad_zero_equals_a_plain_eager_forward_and_reflect_differs_only_near_the_border(
    scale: int, input_unshuffle: int, tmp_path: Path
) -> None:
    net = tiny_net(scale=scale, input_unshuffle=input_unshuffle, gain=4.0)
    with torch.no_grad():
        net.conv_last.bias.fill_(0.5)  # mid-grey output: nothing is clipped away
    model = write_model(tmp_path / "model.safetensors", net)
    rng = np.random.default_rng(3)
    write_image(tmp_path / "in" / "x.png", rng.random((60, 68, 3)))
    lr = torch.from_numpy(read_image(tmp_path / "in" / "x.png").pixels).permute(2, 0, 1)[None]
    with torch.no_grad():  # BasicSR / Real-ESRGAN inference: the whole image, convolutions zero-pad it
        eager = torch.round(net(lr).clamp(0, 1) * 255)[0].permute(1, 2, 0).numpy()

    def upscaled(*options: str) -> np.ndarray:
        out = tmp_path / "_".join(options or ("default",))
        assert sr("--model", model, "--input", tmp_path / "in", "--output", out, "--device", "cpu", *options) == 0
        return np.round(read_image(out / "x.png").pixels * 255)

    assert np.abs(upscaled("--pad", "zero") - eager).max() <= 1  # float rounding only
    reflect = np.abs(upscaled() - eager)
    border = 19 * scale  # the tiny net's context: the pixels whose receptive field leaves the image
    assert reflect.max() > 1  # reflect padding changes the border ...
    assert reflect[border:-border, border:-border].max() <= 1  # ... and nothing else
