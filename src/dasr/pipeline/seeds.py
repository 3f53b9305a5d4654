"""The same comparison under several seeds: per-seed folders, the spread, and paired margins.

One seed is one draw of the initial weights, the patches and the noise. A margin between two
methods means something only next to how much each method moves from seed to seed, so
``dasr demo`` and ``dasr ablate`` take ``--seeds`` and report, for every method and metric, the
mean, the sample standard deviation and the range over seeds, and for a pair of methods the
per-seed differences (the seeds are paired: both methods of one seed see the same data draws).

    OUT/seed-<s>/            one seed's ordinary output folder (resumes by itself)
    OUT/<stem>-seeds.csv/.json  one record per method and metric: mean, sd, min, max, each seed

Each seed's folder is complete on its own, so the seeds can run as separate processes at the
same time (``--seeds 1`` and ``--seeds 2`` side by side), and a last run with all the seeds
finds them finished and only adds up.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dasr.config.schema import Config
from dasr.errors import DasrError
from dasr.evaluation.metrics_table import HEADINGS, format_score
from dasr.files.tables import align_columns, finite_or_none, write_records
from dasr.pipeline.ablate import Result


def seeded_configs(config: Config, seeds: Sequence[int]) -> list[Config]:
    """``config`` once per seed (``seed`` replaced). Repeated seeds are refused: they would count
    one draw twice and shrink the spread."""
    if len(set(seeds)) != len(seeds):
        raise DasrError(f"--seeds: each seed once, got {' '.join(map(str, seeds))}")
    return [replace(config, seed=seed) for seed in seeds]


def each_seed(
    out: Path, config: Config, seeds: Sequence[int], *, command: str, show_progress: bool
) -> Iterator[tuple[int, Config, Path]]:
    """``(seed, its configuration, its folder OUT/seed-<seed>)`` for every seed, saying which one
    starts when progress is shown: the loop ``dasr demo`` and ``dasr ablate`` share."""
    for seed, seeded in zip(seeds, seeded_configs(config, seeds)):
        folder = Path(out) / f"seed-{seed}"
        if show_progress:
            print(f"{command}: seed {seed} in {folder}", flush=True)
        yield seed, seeded, folder


@dataclass(frozen=True)
class Spread:
    """One method's figure for one metric over the seeds."""

    values: tuple[float, ...]
    """Per seed, in the order of ``--seeds``."""

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def sd(self) -> float:
        """Sample standard deviation (n - 1); 0 for a single seed, which has no spread to show."""
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0


def spreads(per_seed: Sequence[Sequence[Result]], metric: str) -> dict[str, Spread]:
    """Variant name -> its ``metric`` over the seeds, for variants measured with it in every seed."""
    by_seed = [{result.variant.name: finite_or_none(result.scores.get(metric)) for result in results}
               for results in per_seed]
    values = {result.variant.name: tuple(seed.get(result.variant.name) for seed in by_seed) for result in per_seed[0]}
    return {name: Spread(found) for name, found in values.items() if None not in found}


@dataclass(frozen=True)
class Margin:
    """``better`` minus ``worse`` on one metric, seed by seed, next to the two methods' spreads."""

    metric: str
    differences: Spread
    spread: float
    """The larger of the two methods' standard deviations over seeds."""

    @property
    def beyond_spread(self) -> bool:
        """Ahead in every seed, by more on average than either method moves between seeds. With a
        single seed there is no spread to beat, so never."""
        values = self.differences.values
        return len(values) > 1 and all(value > 0 for value in values) and self.differences.mean > self.spread


def paired_margins(per_seed: Sequence[Sequence[Result]], better: str, worse: str, metrics: Sequence[str]) -> list[Margin]:
    """The margin of ``better`` over ``worse`` on each metric (higher is better) both have."""
    margins = []
    for metric in metrics:
        by_name = spreads(per_seed, metric)
        if better in by_name and worse in by_name:
            a, b = by_name[better], by_name[worse]
            differences = Spread(tuple(x - y for x, y in zip(a.values, b.values)))
            margins.append(Margin(metric, differences, max(a.sd, b.sd)))
    return margins


def format_spread(per_seed: Sequence[Sequence[Result]], seeds: Sequence[int], metrics: Sequence[str]) -> str:
    """One row per method, each cell ``mean ± sd`` over the seeds."""
    by_metric = {metric: found for metric in metrics if (found := spreads(per_seed, metric))}
    rows = [["method", *(HEADINGS.get(metric, metric) for metric in by_metric)]]
    for result in per_seed[0]:
        cells = []
        for metric, found in by_metric.items():
            spread = found.get(result.variant.name)
            cells.append("-" if spread is None
                         else f"{format_score(spread.mean, metric)} ± {format_score(spread.sd, metric)}")
        rows.append([result.variant.label, *cells])
    title = f"mean ± sample standard deviation over {len(seeds)} seeds ({', '.join(map(str, seeds))})"
    return f"{title}\n{align_columns(rows)}"


def format_margins(margins: Sequence[Margin], better_label: str, worse_label: str) -> str:
    """One line per metric: the per-seed differences, their mean, and whether it beats the spread."""
    lines = [f"{better_label} minus {worse_label}, seed by seed:"]
    for margin in margins:
        values = ", ".join(f"{value:+.4f}" for value in margin.differences.values)
        verdict = "beyond the spread" if margin.beyond_spread else "NOT beyond the spread"
        lines.append(
            f"  {HEADINGS.get(margin.metric, margin.metric)}: {values}; mean {margin.differences.mean:+.4f}, "
            f"largest sd between seeds {margin.spread:.4f}: {verdict}"
        )
    return "\n".join(lines)


def write_spread(per_seed: Sequence[Sequence[Result]], seeds: Sequence[int], metrics: Sequence[str], path_stem: Path) -> tuple[Path, Path]:
    """One record per method and metric: mean, sd, min, max and each seed's value."""
    by_metric = {metric: spreads(per_seed, metric) for metric in metrics}
    records = []
    for result in per_seed[0]:
        for metric in metrics:
            spread = by_metric[metric].get(result.variant.name)
            if spread is None:
                continue
            records.append({
                "variant": result.variant.name,
                "label": result.variant.label,
                "metric": metric,
                "mean": spread.mean,
                "sd": spread.sd,
                "min": min(spread.values),
                "max": max(spread.values),
                **{f"seed_{seed}": value for seed, value in zip(seeds, spread.values)},
            })
    if not records:
        raise DasrError(f"--seeds: no metric was measured in every seed, nothing to write to '{path_stem}'")
    return write_records(records, path_stem.with_name(f"{path_stem.name}-seeds"))
