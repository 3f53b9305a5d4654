"""The folder layouts of the public data sets the paper's experiments use, as data.

One ``Layout`` per data set, as its publishers ship it once unpacked under a root folder; the
checker (:mod:`dasr.datasets.check`) reads only these records, so adding a data set or fixing a
count is an edit here, never in code. Counts are pinned only where the publisher states them;
``count=None`` means "at least one image" (RealSR does not publish its per-folder counts).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageSet:
    """Images expected in one folder: either exactly named (``names`` with one integer field, for
    the indices ``first`` .. ``first + count - 1``) or only shaped (``pattern``, a regular
    expression the whole name must match). Names compare case-insensitively (City100 ships .PNG)."""

    folder: str
    """Relative to the data set's root, ``/``-separated."""
    role: str
    """What the images are for, in the words of the dasr options (``--hr``, ``--lr``, ...)."""
    count: int | None
    names: str | None = None
    first: int = 1
    pattern: str | None = None

    def expected_names(self) -> list[str] | None:
        """Every file name the set must hold, or ``None`` when only the shape is known."""
        if self.names is None or self.count is None:
            return None
        return [self.names.format(index) for index in range(self.first, self.first + self.count)]

    def describe(self) -> str:
        """One line for ``dasr datasets list``: folder, role, how many and how named."""
        how_many = "some" if self.count is None else str(self.count)
        if self.names is not None and self.count is not None:
            last = self.first + self.count - 1
            named = f"{self.names.format(self.first)} .. {self.names.format(last)}"
        else:
            named = f"matching {self.pattern}" if self.pattern else "any image name"
        return f"{self.folder}/: {how_many} images, {named} ({self.role})"


@dataclass(frozen=True)
class Layout:
    """One data set: what to download, from where, and the image sets its root must hold."""

    name: str
    title: str
    download: str
    """Where to get it, as text a user can follow (the publisher's page)."""
    sets: tuple[ImageSet, ...]
    note: str = ""


DIV2K_DOWNLOAD = (
    "DIV2K_train_HR.zip and DIV2K_valid_HR.zip from the DIV2K page, "
    "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
)
DIV2K_TRAIN = ImageSet("DIV2K_train_HR", "--hr: clean HR photos", 800, "{:04d}.png", 1)
DIV2K_VALID = ImageSet("DIV2K_valid_HR", "--val-hr: validation HR", 100, "{:04d}.png", 801)


def _realsr(camera: str) -> Layout:
    """RealSR v3 ships both cameras with one layout: ``CAMERA/{Train,Test}/{2,3,4}`` folders, each
    holding ``CAMERA_NNN_HR.png`` next to ``CAMERA_NNN_LR{scale}.png``; the paper uses x2 and x4."""
    sets = tuple(
        ImageSet(
            f"{camera}/{split}/{scale}",
            f"{role} {kind} x{scale}",
            None,
            pattern=rf"{camera}_\d{{3}}_{suffix}\.png",
        )
        for split, role in (("Train", "training"), ("Test", "test"))
        for scale in (2, 4)
        for kind, suffix in (("HR", "HR"), ("real LR", f"LR{scale}"))
    )
    return Layout(
        name=f"realsr-{camera.lower()}",
        title=f"RealSR v3 (Cai et al., ICCV 2019), {camera} camera",
        download="RealSR(V3) from the links in the README of https://github.com/csjcai/RealSR "
        f"(unpack so that ROOT/{camera}/Train and ROOT/{camera}/Test exist)",
        sets=sets,
        note="HR and LR of a scene share a folder; split them into LR-only and HR-only folders "
        "for --lr / --hr (docs/datasets.md). Folders Train/3 and Test/3 are not used.",
    )


def _city100(split: str, first: int, count: int) -> tuple[ImageSet, ...]:
    return tuple(
        ImageSet("City100_iPhoneX", f"{split} {kind}", count, f"{{:03d}}{letter}.png", first)
        for kind, letter in (("HR", "H"), ("real LR", "L"))
    )


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout(
            name="div2k",
            title="DIV2K (Agustsson & Timofte, NTIRE 2017), HR images",
            download=DIV2K_DOWNLOAD,
            sets=(DIV2K_TRAIN, DIV2K_VALID),
        ),
        Layout(
            name="flickr2k",
            title="Flickr2K (Lim et al., EDSR 2017), HR images",
            download="Flickr2K.tar from https://cv.snu.ac.kr/research/EDSR/Flickr2K.tar "
            "(linked from https://github.com/sanghyun-son/EDSR-PyTorch)",
            sets=(ImageSet("Flickr2K_HR", "clean HR photos", 2650, "{:06d}.png", 1),),
        ),
        Layout(
            name="aim2019",
            title="AIM 2019 Real World Super-Resolution challenge, track 1 data",
            download="TrainingSource and ValidationSource from the AIM 2019 Real World "
            "Super-Resolution challenge on CodaLab (https://competitions.codalab.org, "
            "'AIM 2019 Real World Super-Resolution'; data access after registration), plus "
            + DIV2K_DOWNLOAD,
            sets=(
                ImageSet("TrainingSource", "--lr: real LR (degraded Flickr2K)", 2650, pattern=r".+\.png"),
                DIV2K_TRAIN,
                ImageSet("ValidationSource", "--val-lr: validation real LR", 100, pattern=r".+\.png"),
                DIV2K_VALID,
            ),
            note="Folder names as in the released code's codes/paths.yml (aim2019.tdsr).",
        ),
        _realsr("Canon"),
        _realsr("Nikon"),
        Layout(
            name="camerasr-iphonex",
            title="CameraSR City100 (Chen et al., CVPR 2019), iPhoneX variant, x1",
            download="the City100 folder of https://github.com/ngchc/CameraSR "
            "(ROOT/City100_iPhoneX)",
            sets=_city100("training", 21, 80) + _city100("test", 1, 20),
            note="NNNH.png is HR, NNNL.png the same-size LR; 021-100 train, 001-020 test (the "
            "paper's split). Split them into folders for --hr / --lr (docs/datasets.md).",
        ),
    )
}
