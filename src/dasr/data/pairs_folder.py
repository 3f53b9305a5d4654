"""The layout of a pairs folder (written by stage 1.5, read by stage 2), defined once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
