"""The layout of a run folder (``--out``), so that training, resuming and reports agree on it.

::

    config.yaml        the effective configuration
    log.jsonl          one JSON object per logged step (``dasr.engine.metric_log``)
    checkpoints/       last.pth, plus iter_0001000.pth ... (the newest ``keep`` of them), and
                       best.pth (the best validated one, where a stage keeps it)
    samples/           images written during training
    tensorboard/       TensorBoard events, when TensorBoard is installed
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from dasr.config.loader import read_config, save_config
from dasr.config.schema import Config
from dasr.errors import DasrError
from dasr.files.atomic import PathLike
from dasr.files.checkpoint import save_checkpoint

_NUMBERED = re.compile(r"iter_(\d+)\.pth")


class RunDir:
    """A run folder.

    ``create=True`` (training) makes the folder and its sub-folders; ``create=False`` (reading a
    trained run, e.g. to find its checkpoint) never writes, so a read-only or foreign folder is
    left as it is.
    """

    def __init__(self, root: PathLike, *, create: bool = True) -> None:
        self.root = Path(root)
        self.config_path = self.root / "config.yaml"
        self.log_path = self.root / "log.jsonl"
        self.checkpoints_dir = self.root / "checkpoints"
        self.samples_dir = self.root / "samples"
        self.tensorboard_dir = self.root / "tensorboard"
        self.last_checkpoint = self.checkpoints_dir / "last.pth"
        self.best_checkpoint = self.checkpoints_dir / "best.pth"
        if not create:
            return
        if self.root.exists() and not self.root.is_dir():
            raise DasrError(f"--out '{self.root}' exists and is not a folder")
        try:
            self.checkpoints_dir.mkdir(parents=True, exist_ok=True)
            self.samples_dir.mkdir(exist_ok=True)
        except OSError as error:
            raise DasrError(f"--out '{self.root}': cannot create the run folder: {error.strerror}") from None

    def checkpoint_path(self, iteration: int) -> Path:
        return self.checkpoints_dir / f"iter_{iteration:07d}.pth"

    def numbered_checkpoints(self) -> list[Path]:
        """``iter_*.pth`` files, oldest first."""
        if not self.checkpoints_dir.is_dir():
            return []
        found = [
            (int(m.group(1)), p)
            for p in self.checkpoints_dir.iterdir()
            if (m := _NUMBERED.fullmatch(p.name))
        ]
        return [path for _, path in sorted(found)]

    def latest_checkpoint(self) -> Path | None:
        """``last.pth``, else the newest numbered checkpoint, else ``None`` (a fresh run)."""
        if self.last_checkpoint.is_file():
            return self.last_checkpoint
        numbered = self.numbered_checkpoints()
        return numbered[-1] if numbered else None

    def save_checkpoint(self, state: dict[str, Any], iteration: int, keep: int) -> Path:
        """Write ``last.pth``; with ``keep > 0`` also keep it as ``iter_N.pth`` and prune.

        The numbered copy is a hard link where the file system allows it: ``last.pth`` is later
        replaced by a rename, which leaves the linked file untouched, so it costs no second write.
        """
        save_checkpoint(self.last_checkpoint, state)
        if keep > 0:
            _link_or_copy(self.last_checkpoint, self.checkpoint_path(iteration))
        self.prune_checkpoints(keep)
        return self.last_checkpoint

    def keep_as_best(self, checkpoint: Path) -> Path:
        """Make ``checkpoint`` (just saved) also ``best.pth``, atomically and without a second
        write where the file system allows a hard link."""
        _link_or_copy(checkpoint, self.best_checkpoint)
        return self.best_checkpoint

    def prune_checkpoints(self, keep: int) -> None:
        """Delete all but the newest ``keep`` numbered checkpoints (``last.pth`` always stays)."""
        numbered = self.numbered_checkpoints()
        for path in numbered[: max(len(numbered) - keep, 0)]:
            path.unlink(missing_ok=True)

    def save_config(self, config: Config) -> None:
        save_config(config, self.config_path)

    def saved_config(self) -> Config | None:
        """The configuration an earlier run saved here, to compare with a resuming one."""
        return read_config(self.config_path) if self.config_path.is_file() else None


def _link_or_copy(source: Path, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)
