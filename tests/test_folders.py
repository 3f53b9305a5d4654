"""Listing image folders and checking their files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dasr.data.folders import check_images, list_images
from dasr.data.image_io import write_image
from dasr.errors import DasrError


def _image(path: Path) -> Path:
    write_image(path, np.full((4, 4, 3), 0.5, np.float32))
    return path


def test_lists_images_sorted_case_insensitive_not_recursive(tmp_path: Path) -> None:
    for name in ["b.PNG", "a.JpG", "c.webp", ".hidden.png", "notes.txt", "noext"]:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"")
    (tmp_path / "folder.png").mkdir()
    expected = [tmp_path / "a.JpG", tmp_path / "b.PNG", tmp_path / "c.webp"]
    assert list_images(tmp_path, "--hr") == expected


def test_single_image_file_is_accepted(tmp_path: Path) -> None:
    path = _image(tmp_path / "x.tif")
    assert list_images(path, "--lr") == [path]
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DasrError, match=r"^--lr: '.*notes.txt' is not an image file \(.png"):
        list_images(tmp_path / "notes.txt", "--lr")


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DasrError) as caught:
        list_images(missing, "--hr")
    assert str(caught.value) == f"--hr: folder '{missing}' does not exist"

    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DasrError) as caught:
        list_images(tmp_path, "--lr")
    assert str(caught.value).startswith(f"--lr: folder '{tmp_path}' holds no images (.png, .jpg")


def test_bad_file_stops_unless_skipped(tmp_path: Path) -> None:
    good = [_image(tmp_path / "a.png"), _image(tmp_path / "c.png")]
    bad = tmp_path / "b.png"
    bad.write_text("not a png")
    paths = [good[0], bad, good[1]]

    with pytest.raises(DasrError) as caught:
        check_images(paths, "--hr", skip_bad=False)
    message = str(caught.value)
    assert message.startswith(f"--hr: cannot read image '{bad}'") and "--skip-bad" in message

    with pytest.warns(UserWarning) as warned:
        assert check_images(paths, "--hr", skip_bad=True) == good
    assert [str(warning.message) for warning in warned] == [
        f"--hr: skipping cannot read image '{bad}': not an image file (or an unsupported format)"
    ]


def test_all_bad_is_an_error_even_when_skipping(tmp_path: Path) -> None:
    bad = [tmp_path / "a.png", tmp_path / "b.jpg"]
    for path in bad:
        path.write_bytes(b"")
    with pytest.warns(UserWarning), pytest.raises(DasrError, match="^--lr: none of the 2 image"):
        check_images(bad, "--lr", skip_bad=True)
