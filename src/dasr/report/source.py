"""What a report is made from: the run folder of ``dasr fit``, ``dasr train-dsn`` or ``dasr train-srn``.

Only files are read (config, log, samples, pair manifest, model metadata); nothing is written
and no network is built, so a report can be made from a run that is still training or from a
copy of a run folder on a machine without its data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dasr.config.loader import read_config
from dasr.config.schema import Config
from dasr.data.pairs_folder import MANIFEST_NAME
from dasr.engine.metric_log import read_metric_log
from dasr.engine.run_dir import RunDir
from dasr.errors import DasrError
from dasr.files.checkpoint import DSN_CHECKPOINT, SRN_CHECKPOINT, load_checkpoint
from dasr.inference.model_file import MODEL_FILE_NAME, read_model_metadata

StageName = Literal["dsn", "srn"]

_FORMATS: dict[str, StageName] = {DSN_CHECKPOINT: "dsn", SRN_CHECKPOINT: "srn"}


@dataclass
class Stage:
    """One trained stage: its run folder, saved configuration and metric log."""

    name: StageName
    run: RunDir
    config: Config
    log: list[dict[str, Any]]


@dataclass
class RunSource:
    """A run folder as the report sees it; a stage it does not contain is ``None``."""

    root: Path
    kind: Literal["fit", "train-dsn", "train-srn"]
    dsn: Stage | None
    srn: Stage | None
    pairs_dir: Path | None
    preset: str | None
    """The preset the run started from, where the run recorded it (a fit's model file)."""

    @property
    def config(self) -> Config:
        """The configuration of the last stage (stage 2 settings are resolved there)."""
        stage = self.srn or self.dsn
        assert stage is not None
        return stage.config


def open_run(path: Path) -> RunSource:
    """Read a run folder, or explain in one line why ``path`` is not one."""
    root = Path(path)
    if not root.is_dir():
        raise DasrError(f"run folder '{root}' does not exist or is not a folder")
    if (root / "config.yaml").is_file():
        name = _single_run_stage(RunDir(root, create=False))
        stage = _read_stage(root, name)
        return RunSource(root, f"train-{name}", stage if name == "dsn" else None,
                         stage if name == "srn" else None, None, None)
    stages = {
        name: _read_stage(root / name, name) for name in ("dsn", "srn") if (root / name / "config.yaml").is_file()
    }
    if not stages:
        raise DasrError(
            f"'{root}' is not a dasr run folder: it has no config.yaml, nor dsn/ or srn/ stage folders "
            "(give the --out folder of dasr fit, train-dsn or train-srn)"
        )
    pairs = root / "pairs"
    model = root / MODEL_FILE_NAME
    return RunSource(
        root,
        "fit",
        stages.get("dsn"),
        stages.get("srn"),
        pairs if (pairs / MANIFEST_NAME).is_file() else None,
        read_model_metadata(model).get("preset") if model.is_file() else None,
    )


def _read_stage(root: Path, name: StageName) -> Stage:
    run = RunDir(root, create=False)
    log = read_metric_log(run.log_path) if run.log_path.is_file() else []
    return Stage(name, run, read_config(run.config_path), log)


def _single_run_stage(run: RunDir) -> StageName:
    """Which stage trained a lone run folder, from its checkpoint's ``format`` (memory-mapped, so
    the weights are not read)."""
    checkpoint = run.latest_checkpoint()
    if checkpoint is None:
        raise DasrError(f"run folder '{run.root}' has no checkpoint yet; make the report after the first one")
    kind = load_checkpoint(checkpoint).get("format")
    if kind not in _FORMATS:
        raise DasrError(f"checkpoint '{checkpoint}' is not a dasr train-dsn or train-srn checkpoint")
    return _FORMATS[kind]
