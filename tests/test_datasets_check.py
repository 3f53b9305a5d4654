"""``dasr datasets``: the checker on complete and broken fake trees (empty files: only names and
counts are checked) and the command's output and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dasr.cli.main import main
from dasr.datasets.check import check_dataset
from dasr.datasets.layouts import LAYOUTS, ImageSet
from dasr.errors import DasrError


def _example_names(image_set: ImageSet) -> list[str]:
    """Names a complete copy would hold; RealSR's unpinned counts get two scenes."""
    expected = image_set.expected_names()
    if expected is not None:
        return expected
    count = image_set.count or 2
    if image_set.pattern == r".+\.png":
        return [f"{index:04d}.png" for index in range(1, count + 1)]
    camera, suffix = image_set.pattern.split(r"_\d{3}_")
    return [f"{camera}_{index:03d}_{suffix.replace(chr(92), '')}" for index in range(1, count + 1)]


def make_tree(root: Path, name: str) -> Path:
    for image_set in LAYOUTS[name].sets:
        folder = root / image_set.folder
        folder.mkdir(parents=True, exist_ok=True)
        for file_name in _example_names(image_set):
            (folder / file_name).touch()
    return root


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_a_complete_tree_passes_with_its_counts(name: str, tmp_path: Path) -> None:
    result = check_dataset(make_tree(tmp_path, name), name)
    assert result.problems == []
    assert [count for _, count in result.found] == [len(_example_names(s)) for s in LAYOUTS[name].sets]


def test_the_city100_split_is_the_papers() -> None:
    sets = {image_set.role: image_set.expected_names() for image_set in LAYOUTS["camerasr-iphonex"].sets}
    assert sets["training real LR"][0] == "021L.png" and sets["training real LR"][-1] == "100L.png"
    assert sets["test HR"] == [f"{index:03d}H.png" for index in range(1, 21)]


def test_missing_folders_are_named_with_their_role(tmp_path: Path) -> None:
    root = make_tree(tmp_path, "aim2019")
    for path in (root / "TrainingSource").iterdir():
        path.unlink()
    (root / "TrainingSource").rmdir()
    (problem,) = check_dataset(root, "aim2019").problems
    assert problem == f"missing folder {root / 'TrainingSource'} (--lr: real LR (degraded Flickr2K))"


def test_missing_named_images_are_listed(tmp_path: Path) -> None:
    root = make_tree(tmp_path, "div2k")
    for index in (5, 17):
        (root / "DIV2K_train_HR" / f"{index:04d}.png").unlink()
    (problem,) = check_dataset(root, "div2k").problems
    assert problem.endswith("(--hr: clean HR photos): 2 of 800 images missing (0005.png, 0017.png)")


def test_too_few_and_too_many_images_are_counted(tmp_path: Path) -> None:
    root = make_tree(tmp_path, "aim2019")
    (root / "TrainingSource" / "0001.png").unlink()
    (root / "ValidationSource" / "extra.png").touch()
    problems = check_dataset(root, "aim2019").problems
    assert any("too few images, found 2649 of 2650" in p for p in problems)
    assert any("too many images, found 101, expected 100" in p for p in problems)


def test_unexpected_names_are_reported_once_per_folder(tmp_path: Path) -> None:
    root = make_tree(tmp_path, "camerasr-iphonex")
    (root / "City100_iPhoneX" / "021L.png").rename(root / "City100_iPhoneX" / "021_L.jpg")
    (root / "City100_iPhoneX" / "notes.txt").touch()  # not an image: ignored
    problems = check_dataset(root, "camerasr-iphonex").problems
    assert len(problems) == 2
    assert "1 of 80 images missing (021L.png)" in problems[0]
    assert problems[1].endswith("1 images with unexpected names (021_L.jpg); expected names like "
                                "021H.png or 021L.png or 001H.png or 001L.png")


def test_names_compare_case_insensitively_and_empty_realsr_folders_fail(tmp_path: Path) -> None:
    root = make_tree(tmp_path, "camerasr-iphonex")
    (root / "City100_iPhoneX" / "050H.png").rename(root / "City100_iPhoneX" / "050H.PNG")
    assert check_dataset(root, "camerasr-iphonex").ok
    root = make_tree(tmp_path / "realsr", "realsr-nikon")
    for path in (root / "Nikon" / "Test" / "4").glob("*_LR4.png"):
        path.unlink()
    (problem,) = check_dataset(root, "realsr-nikon").problems
    assert "test real LR x4" in problem and r"no images named like Nikon_\d{3}_LR4\.png" in problem


def test_unknown_data_sets_and_roots_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(DasrError, match="unknown data set 'div3k'; known data sets: div2k, flickr2k"):
        check_dataset(tmp_path, "div3k")
    with pytest.raises(DasrError, match="is not a folder"):
        check_dataset(tmp_path / "nowhere", "div2k")


def test_cli_check_prints_ok_and_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "check", str(make_tree(tmp_path, "div2k")), "--dataset", "div2k"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK: div2k at {tmp_path}\n")
    assert "DIV2K_train_HR/: 800 images (--hr: clean HR photos)" in out


def test_cli_check_lists_problems_then_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "check", str(tmp_path), "--dataset", "div2k"]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("problem: missing folder") == 2
    assert "get it: DIV2K_train_HR.zip and DIV2K_valid_HR.zip" in captured.out
    assert captured.err == f"dasr: error: div2k at '{tmp_path}' is incomplete: 2 problem(s) listed above\n"


def test_cli_list_names_every_data_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    for name in LAYOUTS:
        assert f"\n{name}: " in f"\n{out}"
    assert "City100_iPhoneX/: 80 images, 021L.png .. 100L.png (training real LR)" in out


def test_cli_rejects_an_unknown_data_set_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["datasets", "check", ".", "--dataset", "div3k"])
    assert exit_info.value.code == 2
