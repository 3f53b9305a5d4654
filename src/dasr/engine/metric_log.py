"""Training metrics as JSON lines (always) and TensorBoard scalars (when TensorBoard is installed).

JSON lines because they need no extra package, survive a crash up to the last flushed line and
are read back by reports and tests with one function. TensorBoard is optional: without it the
log silently keeps only the JSON file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from dasr.errors import DasrError
from dasr.files.atomic import PathLike, atomic_write


class MetricLog:
    """Appends rows ``{"step", "phase", "time", **values}`` to a JSON-lines file.

    ``resume_step``: the iteration a resumed run continues from. Rows logged after it by the
    interrupted run are dropped, because the resumed run logs those steps again. ``None`` starts
    a fresh log.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        tensorboard_dir: PathLike | None = None,
        resume_step: int | None = None,
    ) -> None:
        self.path = Path(path)
        if resume_step is None:
            self._file = open(self.path, "w", encoding="utf-8")
        else:
            if self.path.exists():
                kept = [row for row in read_metric_log(self.path) if row["step"] <= resume_step]
                with atomic_write(self.path, "w") as handle:
                    handle.writelines(json.dumps(row) + "\n" for row in kept)
            self._file = open(self.path, "a", encoding="utf-8")
        self._writer = _tensorboard_writer(tensorboard_dir, 0 if resume_step is None else resume_step + 1)

    def log(self, step: int, values: Mapping[str, float], phase: str) -> None:
        """Write one row now (flushed), so a crash loses at most the row being written."""
        scalars = {name: float(value) for name, value in values.items()}
        row = {"step": step, "phase": phase, "time": time.time(), **scalars}
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        if self._writer is not None:
            for name, value in scalars.items():
                self._writer.add_scalar(f"{phase}/{name}", value, step)

    def close(self) -> None:
        self._file.close()
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> MetricLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def read_metric_log(path: PathLike) -> list[dict[str, Any]]:
    """All rows of a log; a last line cut short by a crash is skipped, other bad ones are errors."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError as error:
        raise DasrError(f"metric log '{path}' cannot be read: {error.strerror or error}") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):  # no newline after it: the write was interrupted
                continue
            raise DasrError(f"metric log '{path}' line {number} is not valid JSON") from None
    return rows


def _tensorboard_writer(log_dir: PathLike | None, purge_step: int) -> Any:
    """A ``SummaryWriter`` that discards events from ``purge_step`` on, or ``None``.

    Purging keeps a resumed run's curves free of the steps the interrupted run logged twice.
    """
    if log_dir is None:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(log_dir), purge_step=purge_step)
