"""The report's comparison of methods: each validation pair's SR by every method, side by side
with its HR, a slider between the last two methods, and every metric of each method's
``dasr eval`` metrics.json (the demo's report is built this way)."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dasr.cli.main import main
from dasr.report import Method, build_report
from tests.conftest import write_photo
from tests.helpers import assert_self_contained, make_fit_run

LABELS = ("bicubic upsampling", "ESRGAN (bicubic pairs)", "DASR")
PAIRS = ("v0", "v1")


class Page(HTMLParser):
    """The images (alt -> pixels) and the metric tables (rows of cell texts) of one section."""

    def __init__(self, section: str) -> None:
        super().__init__()
        self.section, self.inside = section, False
        self.images: dict[str, np.ndarray] = {}
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section":
            self.inside = found.get("id") == self.section
        elif not self.inside:
            return
        elif tag == "img":
            data = str(found["src"]).split(",", 1)[1]
            self.images[str(found["alt"])] = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
        elif tag == "table" and "metrics" in str(found.get("class")):
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("th", "td"):
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "section":
            self.inside = False


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Method], dict]:
    """A finished tiny fit run and three methods' SR of the same 2 pairs, each with a metrics.json
    holding the usual metrics and a new one (``haarpsi``) that the report has never heard of."""
    root = tmp_path_factory.mktemp("methods")
    run = make_fit_run(root)
    methods, scores = [], {}
    for number, label in enumerate(LABELS):
        folder = root / f"method{number}"
        images = []
        for pair, name in enumerate(PAIRS):
            sr = write_photo(folder / "val_sr" / f"{name}.png", (96, 128), seed=100 + 10 * number + pair)
            values = {"psnr": 20.0 + number + pair / 8, "ssim": 0.5 + number / 10 + pair / 100,
                      "haarpsi": 0.25 + number / 20 + pair / 1000}
            scores[label, name] = values
            images.append({"name": name, "sr": str(sr), "hr": str(root / "val_hr" / f"{name}.png"),
                           "cropped": False, **values})
        mean = {key: float(np.mean([image[key] for image in images])) for key in ("psnr", "ssim", "haarpsi")}
        scores[label, "mean"] = mean
        (folder / "eval").mkdir()
        (folder / "eval" / "metrics.json").write_text(json.dumps({"images": images, "mean": mean}))
        methods.append(Method(label, folder / "eval" / "metrics.json"))
    return run, methods, scores


def closest(image: np.ndarray, candidates: dict[str, Path]) -> str:
    distances = {key: np.abs(image.astype(float) - np.asarray(Image.open(path).convert("RGB"), float)).mean()
                 for key, path in candidates.items()}
    return min(distances, key=distances.get)


def test_each_pair_shows_every_methods_image_and_every_metric(demo_like, tmp_path: Path) -> None:
    run, methods, scores = demo_like
    page_text = build_report(run, tmp_path / "report.html", methods=methods).read_text(encoding="utf-8")
    assert_self_contained(page_text)
    assert '<a href="#methods">Comparison of methods</a>' in page_text
    page = Page("methods")
    page.feed(page_text)

    root = run.parent
    for name in PAIRS:
        candidates = {label: root / f"method{number}" / "val_sr" / f"{name}.png" for number, label in enumerate(LABELS)}
        candidates["HR"] = root / "val_hr" / f"{name}.png"
        for label in candidates:  # each panel is that method's picture, not another one's
            assert closest(page.images[f"{name}: {label}"], candidates) == label
        slider = f"{name}: {LABELS[1]} vs {LABELS[2]}"
        assert closest(page.images[f"{slider}: {LABELS[1]}"], candidates) == LABELS[1]
        assert closest(page.images[f"{slider}: {LABELS[2]}"], candidates) == LABELS[2]
    assert len(page.images) == len(PAIRS) * (len(LABELS) + 1 + 2)
    assert page_text.count('class="slider"') == len(PAIRS) + 1  # and the run's own validation slider

    mean_table, *image_tables = page.tables
    assert len(image_tables) == len(PAIRS)
    for table, key in zip([mean_table, *image_tables], ["mean", *PAIRS], strict=True):
        assert table[0] == ["method", "PSNR", "SSIM", "HAARPSI"]
        assert table[1:] == [[label, *(f"{scores[label, key][metric]:.4f}" for metric in ("psnr", "ssim", "haarpsi"))]
                             for label in LABELS]


def test_a_missing_image_is_a_note_and_the_cli_takes_label_file_pairs(demo_like, tmp_path: Path, capsys) -> None:
    run, methods, _ = demo_like
    gone = json.loads(methods[0].metrics.read_text())
    gone["images"][0]["sr"] = str(tmp_path / "deleted.png")
    edited = tmp_path / "metrics.json"
    edited.write_text(json.dumps(gone))
    out = tmp_path / "r.html"
    given = [(LABELS[0], edited), *((method.label, method.metrics) for method in methods[1:])]
    compare = [f"--compare={label}={path}" for label, path in given]
    assert main(["report", str(run), "--out", str(out), *compare]) == 0
    page = out.read_text(encoding="utf-8")
    assert f"{LABELS[0]}: SR image &#x27;{tmp_path / 'deleted.png'}&#x27; not found." in page
    assert f'alt="v0: {LABELS[0]}"' not in page and f'alt="v1: {LABELS[0]}"' in page
    capsys.readouterr()

    with pytest.raises(SystemExit):
        main(["report", str(run), "--compare", "no-label-here"])
    assert "expected LABEL=FILE" in capsys.readouterr().err
    assert main(["report", str(run), "--out", str(out), "--compare", f"A={tmp_path / 'none.json'}"]) == 2
    assert "none.json' cannot be read" in capsys.readouterr().err
