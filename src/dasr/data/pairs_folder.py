"""The layout of a pairs folder (written by stage 1.5, read by stage 2 and the report), and the
reading of its manifest, defined once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dasr.errors import DasrError

MANIFEST_FORMAT = "dasr-pairs"
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class PairPaths:
    """Where the outputs of one HR image go."""

    lr: Path
    map: Path
    heatmap: Path

    @classmethod
    def of(cls, pairs_dir: Path, stem: str) -> PairPaths:
        return cls(
            lr=pairs_dir / "lr" / f"{stem}.png",
            map=pairs_dir / "maps" / f"{stem}.npy",
            heatmap=pairs_dir / "heatmaps" / f"{stem}.png",
        )

    def all_exist(self) -> bool:
        return self.lr.is_file() and self.map.is_file() and self.heatmap.is_file()


@dataclass(frozen=True)
class Manifest:
    """A current pairs manifest: what made the folder (``format``, ``scale``, ``dsn``, ``map``)
    and its finished images by stem, in the file's order."""

    header: dict[str, Any]
    images: dict[str, dict[str, Any]]


def read_manifest(path: Path, option: str, *, remedy: str) -> Manifest:
    """The manifest in ``path``; a file that cannot be read, or holds anything but a current
    manifest (other JSON, an older format, bytes that are not JSON), is a ``DasrError`` naming
    ``option`` and ending in ``remedy`` (what to do: rerun dasr generate, use another folder)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DasrError(f"{option}: cannot read '{path}': {error.strerror or error}") from error
    try:
        content = json.loads(data)
        images = {entry["stem"]: entry for entry in content.pop("images")}
        current = (
            content["format"] == MANIFEST_FORMAT
            and isinstance(content["scale"], int)
            and isinstance(content["dsn"]["fingerprint"], str)
            and all(len(entry["hr_size"]) == 2 for entry in images.values())
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        current = False
    if not current:
        raise DasrError(f"{option}: '{path}' is not a manifest of this dasr version's pairs; {remedy}")
    return Manifest(content, images)
