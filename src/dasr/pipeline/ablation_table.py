"""Printing and saving the ablation tables in the paper's layout.

Table 1 is a grid like the paper's: rows = the DSN's input, columns = the adversarial filter,
each cell ``PSNR / SSIM`` (``/ LPIPS`` when measured), with the bicubic downscale (and the true
degradation, when declared) as reference lines; then the same grid of distribution distances and
one of the discriminator check. Table 2 has the paper's six columns and check-mark rows for the ingredients,
then one row per metric. The CSV/JSON files hold one record per variant at full precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dasr.config.schema import Config
from dasr.errors import DasrError
from dasr.evaluation.metrics_table import DECIMALS, HEADINGS
from dasr.files.tables import align_columns, finite_or_none, write_records
from dasr.pipeline.ablate import (
    REFERENCE,
    TRUE_REFERENCE,
    AblationData,
    Result,
    run_table1,
    run_table2,
)
from dasr.pipeline.ablation_variants import (
    DSN_FILTERS,
    DSN_INPUTS,
    TABLE1_VARIANTS,
    TABLE2_VARIANTS,
    select_variants,
)
from dasr.pipeline.seeds import (
    each_seed,
    format_margins,
    format_spread,
    paired_margins,
    write_spread,
)

_SHOWN = ("psnr", "ssim", "lpips")
"""The paper's metrics (RGB PSNR/SSIM, LPIPS); the files also hold the Y-channel values."""
_SHOWN_SR = (*_SHOWN, "haarpsi", "ms_ssim", "gmsd", "hf", "hf_hr")
"""Table 2 adds the weight-free perceptual metrics and the HF energy of SR next to HR's, which
tells a network that sharpens the real LR's noise (SR above HR) from one that over-smooths."""
_DISTANCES = {"jsd_haar": "JSD Haar", "jsd_residual": "JSD residual", "hf_ratio": "HF / real"}
"""Table 1's distribution columns (:mod:`dasr.metrics.distribution`): needing no aligned scenes,
they judge a DSN by the statistics of its LR set, not by one noisy realisation."""
_SCORES = {f"p_{name}": name for name in ("real", "bicubic", "blur", "noise", "true", "generated")}
"""Table 1's discriminator check (:mod:`dasr.stage1_dsn.validation`), for the trained DSNs."""
_DECIMALS = {**DECIMALS, "jsd_haar": 4, "jsd_residual": 4, "hf_ratio": 3, **dict.fromkeys(_SCORES, 3)}


def _number(scores: dict[str, float | None], metric: str) -> str:
    value = scores.get(metric)
    return "-" if value is None else f"{value:.{_DECIMALS[metric]}f}"


def _shown(results: list[Result], metrics: tuple[str, ...] = _SHOWN) -> list[str]:
    return [metric for metric in metrics if any(result.scores.get(metric) is not None for result in results)]


def _grid(results: list[Result], metrics: list[str], title: str) -> list[str]:
    """The DSN grid (input x filter), each cell ``metric / metric ...``, and the reference rows
    that have these metrics."""
    def shown(result: Result) -> str:
        return " / ".join(_number(result.scores, m) for m in metrics)

    paper = {(s["dsn.input"], s["dsn.filter"]): r for r in results if (s := dict(r.variant.settings)).get("dsn.arch") == "paper"}
    rows = [["input \\ filter", *DSN_FILTERS.values()]]
    rows += [
        [label, *(shown(paper[source, kind]) if (source, kind) in paper else "" for kind in DSN_FILTERS)]
        for source, label in DSN_INPUTS.items()
    ]
    lines = [title, align_columns(rows)]
    for result in results:
        settings = dict(result.variant.settings)
        if settings and settings.get("dsn.arch") != "paper":
            lines.append(f"other DSN, {result.variant.label}: {shown(result)}")
        elif result.variant in (REFERENCE, TRUE_REFERENCE) and any(result.scores.get(m) is not None for m in metrics):
            lines.append(f"reference, {result.variant.label}: {shown(result)}")
    return lines


def format_table1(results: list[Result]) -> str:
    """The DSN grids (input x filter) of generated LR vs real LR with the reference rows: the
    paired metrics, the distribution distances, and the discriminator check."""
    metrics = _shown(results)
    what = " / ".join(HEADINGS[metric] for metric in metrics)
    title = f"Table 1: generated LR vs real LR of the validation pairs ({what}; RGB, border = scale)"
    lines = _grid(results, metrics, title)
    distances = _shown(results, tuple(_DISTANCES))
    if distances:
        what = " / ".join(_DISTANCES[metric] for metric in distances)
        lines += ["", *_grid(results, distances, f"LR set vs real LR set, no pairing ({what})")]
    scores = _shown(results, tuple(_SCORES))
    if scores:
        rows = [["", *(_SCORES[metric] for metric in scores)]]
        rows += [[r.variant.label, *(_number(r.scores, m) for m in scores)] for r in results if r.variant.settings]
        lines += ["", "each DSN discriminator's mean P(real LR) on LR sets (columns)", align_columns(rows)]
    return "\n".join(lines)


def format_table2(results: list[Result]) -> str:
    """The paper's six columns: which ingredients each uses, then SR(val LR) vs val HR."""
    settings = [dict(result.variant.settings) for result in results]
    marks = {
        "bicubic pairs": lambda s: s["srn.pairs"] == "bicubic",
        "generated pairs": lambda s: s["srn.pairs"] == "generated",
        "target-domain GAN": lambda s: s["srn.adversarial"] == "target",
        "map weighting": lambda s: s["srn.weighting"] == "map",
    }
    rows = [["", *(result.variant.name for result in results)]]
    rows += [[name, *("x" if used(s) else "" for s in settings)] for name, used in marks.items()]
    rows += [[HEADINGS[metric], *(_number(r.scores, metric) for r in results)] for metric in _shown(results, _SHOWN_SR)]
    return "Table 2: SR of the validation LR vs its HR (RGB, border = scale)\n" + align_columns(rows)


def write_table(results: list[Result], path_stem: Path) -> tuple[Path, Path]:
    """``<stem>.csv`` and ``<stem>.json``, one record per variant, each replaced atomically."""
    keys = list(dict.fromkeys(key for result in results for key, _ in result.variant.settings))
    metrics = list(dict.fromkeys(metric for result in results for metric in result.scores))
    return write_records([
        {
            "variant": result.variant.name,
            "label": result.variant.label,
            **{key: dict(result.variant.settings).get(key, "") for key in keys},
            **{metric: finite_or_none(result.scores.get(metric)) for metric in metrics},
        }
        for result in results
    ], path_stem)


TABLES = {1: (run_table1, format_table1, TABLE1_VARIANTS), 2: (run_table2, format_table2, TABLE2_VARIANTS)}
"""Table number -> (what trains and scores its variants, what prints it, its variants)."""
SPREAD_METRICS = {1: (*_SHOWN, *_DISTANCES, *_SCORES), 2: _SHOWN_SR}
"""The columns the spread over seeds is reported for (the files hold the rest per seed)."""
_MARGIN = ("dasr", "bicubic", ("psnr", "ssim", "haarpsi"))
"""Table 2's question: DASR minus ESRGAN on bicubic pairs, on the demo's verdict metrics."""


def _table(table: int) -> tuple:
    if table not in TABLES:
        raise DasrError(f"--table must be 1 (DSN variants) or 2 (SRN variants), got {table}")
    return TABLES[table]


def ablate(
    table: int, config: Config, data: AblationData, out: Path, *, variants: Sequence[str] | None = None,
    show_progress: bool = True,
) -> str:
    """Run (or resume) one table's variants (``variants``: a subset by name) under ``out``,
    write ``out/table<N>.csv/.json`` and return the printed table."""
    run, render, table_variants = _table(table)
    results = run(config, data, Path(out), variants=select_variants(table_variants, variants),
                  show_progress=show_progress)
    write_table(results, Path(out) / f"table{table}")
    return render(results)


def ablate_seeds(
    table: int, config: Config, data: AblationData, out: Path, seeds: Sequence[int], *,
    variants: Sequence[str] | None = None, show_progress: bool = True,
) -> str:
    """:func:`ablate` once per seed in ``out/seed-<s>`` (each resumes by itself, so seeds may run
    as separate processes first), then ``out/table<N>-seeds.csv/.json`` and the printed tables
    of every seed, the mean ± sd over seeds and, for Table 2, DASR's margin over the baseline."""
    run, render, table_variants = _table(table)
    chosen = select_variants(table_variants, variants)
    per_seed, lines = [], []
    for seed, seeded, folder in each_seed(out, config, seeds, command="ablate", show_progress=show_progress):
        results = run(seeded, data, folder, variants=chosen, show_progress=show_progress)
        write_table(results, folder / f"table{table}")
        per_seed.append(results)
        lines += [f"seed {seed}:", render(results), ""]
    write_spread(per_seed, seeds, SPREAD_METRICS[table], Path(out) / f"table{table}")
    lines.append(format_spread(per_seed, seeds, SPREAD_METRICS[table]))
    better, worse, metrics = _MARGIN
    margins = paired_margins(per_seed, better, worse, metrics) if table == 2 else []
    if margins:
        labels = {variant.name: variant.label for variant in table_variants}
        lines.append(format_margins(margins, labels[better], labels[worse]))
    return "\n".join(lines)
