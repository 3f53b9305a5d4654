"""A folder of odd and malformed inputs, fed to every command that reads folders.

What a user's folder can hold: damaged files, files that only pretend to be images, unusual but
valid images (CMYK, 16-bit, palette, grey+alpha, 1x1), awkward names, links. Every command must
end without a traceback (``main`` returns instead of raising), name each bad file in one line,
exit non-zero when something failed, and still do the good files where it goes on past bad ones.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dasr.archs.rrdbnet import RRDBNet
from dasr.cli.main import main
from dasr.data.image_io import decode_image
from dasr.inference.model_file import save_model
from tests.conftest import TINY_DSN, TINY_SRN, write_photo

GOOD = ["good.png", "UPPER.PNG", "with space é.png", "cmyk.jpg", "palette.png", "greyalpha.png", "grey16.png",
        "link.png", os.fsdecode(b"bad\xffname.png")]
BROKEN = ["zero.png", "truncated.png", "random.png", "text.png", "bomb.png"]
NOT_FILES = ["dir.png", "dangling.png", "loop1.png", "loop2.png"]
TINY = ["one.png"]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def make_odd_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    write_photo(folder / "good.png", (40, 48), seed=0)
    photo = Image.open(folder / "good.png").convert("RGB")
    photo.save(folder / "UPPER.PNG")
    photo.save(folder / "with space é.png")
    photo.convert("CMYK").save(folder / "cmyk.jpg")
    photo.convert("P").save(folder / "palette.png")
    photo.convert("LA").save(folder / "greyalpha.png")
    Image.fromarray((rng.random((40, 48)) * 65535).astype(np.uint16)).save(folder / "grey16.png")
    Image.new("RGB", (1, 1), (9, 9, 9)).save(folder / "one.png")
    data = (folder / "good.png").read_bytes()
    (folder / "zero.png").write_bytes(b"")
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "random.png").write_bytes(rng.bytes(500))
    (folder / "text.png").write_text("hello")
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)  # 10^10 pixels claimed
    (folder / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b""))
    (folder / "dir.png").mkdir()
    os.symlink("good.png", folder / "link.png")
    os.symlink("missing.png", folder / "dangling.png")
    os.symlink("loop2.png", folder / "loop1.png")
    os.symlink("loop1.png", folder / "loop2.png")
    with open(os.fsencode(folder) + b"/bad\xffname.png", "wb") as handle:
        handle.write(data)
    return folder


@pytest.fixture
def odd(tmp_path) -> Path:
    return make_odd_folder(tmp_path / "odd")


def run(capsys, argv: list[str]) -> tuple[int, list[str]]:
    """Exit status and the ``dasr:`` lines of stderr (progress bars left out); ``main`` raising
    (a traceback for a user) fails the test by itself. Each call shows its warnings afresh, as
    a new process would (Python shows a repeated warning only once per process)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        code = main(argv)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.startswith("dasr: ")]


def named(lines: list[str], names: list[str]) -> list[str]:
    """The names that no line mentions."""
    return [name for name in names if not any(name in line for line in lines)]


def sets(settings: list[str]) -> list[str]:
    return [item for setting in settings for item in ("--set", setting)]


def test_sr_does_the_good_files_and_names_every_bad_one(odd, tmp_path, capsys):
    model = tmp_path / "model.safetensors"
    save_model(model, RRDBNet(scale=2, num_features=8, num_blocks=1, growth_channels=4),
               weights="params_ema", preset="test", config={}, training={})
    out = tmp_path / "out"
    code, lines = run(capsys, ["sr", "--model", str(model), "--input", str(odd), "--output", str(out)])
    assert code == 1
    assert named(lines, BROKEN + NOT_FILES) == []
    written = {path.name for path in out.iterdir()}
    assert len(written) == len(GOOD) + len(TINY)  # every readable image, the 1x1 one too
    for path in out.iterdir():
        decode_image(path)


def test_degrade_names_bad_files_and_degrades_the_rest_with_skip_bad(odd, tmp_path, capsys):
    code, lines = run(capsys, ["degrade", "--input", str(odd), "--output", str(tmp_path / "a"), "--scale", "4"])
    assert code == 2 and len([line for line in lines if line.startswith("dasr: error: ")]) == 1
    code, lines = run(capsys, ["degrade", "--input", str(odd), "--output", str(tmp_path / "b"), "--scale", "4",
                               "--skip-bad"])
    assert code == 1  # the 1x1 image cannot be degraded by 4: it alone fails
    assert named(lines, BROKEN + NOT_FILES + TINY) == []
    assert len(list((tmp_path / "b").glob("*.png"))) == len(GOOD)


@pytest.mark.parametrize("command", ["train-dsn", "train-srn", "fit"])
def test_training_stops_on_the_first_bad_file_or_skips_them_all(command, odd, photo_folders, tmp_path, capsys):
    settings = {
        "train-dsn": TINY_DSN,
        "train-srn": [*TINY_SRN, "srn.pairs=bicubic"],
        "fit": [*dict.fromkeys([*TINY_DSN, *TINY_SRN])],
    }[command]
    short = ["dsn.iters=1", "dsn.pretrain_iters=1", "srn.iters=1", "srn.pretrain_iters=1"]
    base = [command, "--hr", str(odd), "--lr", str(photo_folders["lr"]), "--scale", "4", *sets(settings)]
    code, lines = run(capsys, [*base, "--out", str(tmp_path / "a"), *sets(short)])
    assert code == 2 and len(lines) == len(NOT_FILES) + 1  # the not-files warned, then one error
    assert lines[-1].startswith("dasr: error: --hr: ") and "--skip-bad" in lines[-1]
    code, lines = run(capsys, [*base, "--out", str(tmp_path / "b"), *sets(short), "--skip-bad"])
    assert code == 0, lines[-1]
    assert named(lines, BROKEN + NOT_FILES) == []


def test_generate_skips_what_it_cannot_use(odd, photo_folders, tmp_path, capsys):
    dsn = tmp_path / "dsn"
    short = sets([*TINY_DSN, "dsn.iters=1", "dsn.pretrain_iters=1"])
    assert main(["train-dsn", "--hr", str(photo_folders["hr"]), "--lr", str(photo_folders["lr"]), "--scale", "4",
                 "--out", str(dsn), *short]) == 0
    capsys.readouterr()
    code, lines = run(capsys, ["generate", "--dsn", str(dsn), "--hr", str(odd), "--out", str(tmp_path / "p")])
    assert code == 2 and lines[-1].startswith("dasr: error: --hr: ")
    code, lines = run(capsys, ["generate", "--dsn", str(dsn), "--hr", str(odd), "--out", str(tmp_path / "p"),
                               "--skip-bad"])
    assert code == 0 and named(lines, BROKEN + NOT_FILES + TINY) == []
    assert len(list((tmp_path / "p" / "lr").iterdir())) == len(GOOD)


def test_eval_names_the_bad_file(odd, tmp_path, capsys):
    code, lines = run(capsys, ["eval", "--sr", str(odd), "--hr", str(odd), "--scale", "1", "--no-progress"])
    assert code == 2
    errors = [line for line in lines if line.startswith("dasr: error: ")]
    assert len(errors) == 1 and any(name in errors[0] for name in BROKEN)
    assert named(lines, NOT_FILES) == []


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
