"""``run_demo``: DASR, the same SR network trained on bicubic pairs, and bicubic upsampling,
trained and scored on the demo's photos.

    OUT/
      data/                  the demo data set (see dasr.demo.dataset)
      dasr/                  a ``dasr fit`` run (report.html, eval/metrics.json, val_sr/)
      bicubic-baseline/      ``dasr fit`` with ``srn.pairs=bicubic``, ``srn.adversarial=source``,
                             ``srn.weighting=none``: the paper's "ESRGAN on bicubic pairs"
      bicubic-upsampling/    no network: val_sr/ = bicubic x scale of the val LR, eval/
      demo_metrics.csv/.json the mean scores of the three methods
      stage1_check.json      how close DASR's stage 1 came to the camera (see ``check_stage1``)

The two trainings resume by themselves (a finished one returns at once) and the data set is
built once, so rerunning continues where an interruption left off. Scoring takes seconds, so
it is redone every time and always matches the models on disk. Training never sees the
validation pairs: no checkpoint is picked on the images it is scored on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from dasr.config.schema import Config
from dasr.demo.dataset import CAMERA, DemoData, build_demo_data
from dasr.engine.device import select_device
from dasr.evaluation.metrics_table import HEADINGS, JSON_NAME, METRICS
from dasr.evaluation.runner import bicubic_upsample_folder, super_resolve_folder
from dasr.files.atomic import atomic_write
from dasr.files.tables import align_columns, finite_or_none
from dasr.inference.api import load_model
from dasr.pipeline.ablate import Result, score_variant
from dasr.pipeline.ablation_table import write_table
from dasr.pipeline.ablation_variants import TABLE2_VARIANTS, Variant
from dasr.pipeline.fit import FitData, fit
from dasr.pipeline.seeds import (
    Margin,
    each_seed,
    format_margins,
    format_spread,
    paired_margins,
    spreads,
    write_spread,
)
from dasr.report import Method, build_report
from dasr.stage1_dsn.networks import load_dsn
from dasr.stage1_dsn.validation import DSNValidationSet, DSNValidator, format_validation

BASELINE = next(variant for variant in TABLE2_VARIANTS if variant.name == "bicubic")
"""The paper's Table 2 baseline: ESRGAN on bicubic pairs, no target-domain GAN, no maps."""
UPSAMPLING = Variant("bicubic-upsampling", "bicubic upsampling", ())
DASR = Variant("dasr", "DASR", ())
"""DASR with the configuration as given (the defaults are the paper's method)."""
SR_FOLDER = "val_sr"
METRICS_STEM = "demo_metrics"
STAGE1_CHECK = "stage1_check.json"


@dataclass(frozen=True)
class DemoResult:
    """What the demo measured and where it wrote it."""

    results: list[Result]
    """Mean scores per method: bicubic upsampling, the bicubic-pairs baseline, DASR."""
    table: str
    verdict: str
    """One line: whether DASR is ahead of the bicubic-pair baseline in PSNR, SSIM and HaarPSI."""
    stage1: str
    """One line: the stage-1 check of :func:`check_stage1`."""
    metrics_csv: Path
    metrics_json: Path
    report: Path


def run_demo(
    out: Path, config: Config, *, preset: str, show_progress: bool = True, max_size: int | None = None
) -> DemoResult:
    """Build the data set, train (or resume) DASR and the baseline, score all three methods on
    the validation pairs and write the metrics and DASR's HTML report, which shows the three
    methods' SR of every validation pair side by side. ``max_size`` crops every
    photo to at most that many pixels per side (tests)."""
    out = Path(out)
    say = print if show_progress else _silent
    say(f"demo: [1/4] data set from the shipped wallpapers in {out / 'data'}", flush=True)
    data = build_demo_data(out / "data", config.scale, max_size=max_size)
    fit_data = FitData(data.hr_paths, data.real_lr_paths)
    say(f"demo: [2/4] DASR (stage 1, 1.5, 2) in {out / DASR.name}", flush=True)
    dasr_model = fit(config, fit_data, out / DASR.name, preset=preset, show_progress=show_progress)
    say(f"demo: [3/4] baseline, the same SR network on bicubic pairs, in {out / 'bicubic-baseline'}", flush=True)
    baseline_model = fit(
        BASELINE.apply(config), fit_data, out / "bicubic-baseline", preset=preset, show_progress=show_progress
    )
    say("demo: [4/4] scoring SR(val LR) against val HR", flush=True)
    device = select_device(config.device)
    val_hr, val_lr = [hr for hr, _ in data.val_pairs], [lr for _, lr in data.val_pairs]

    def network(model: Path) -> Callable[[Path], list[Path]]:
        upscaler = load_model(model, device=device)
        return lambda folder: super_resolve_folder(upscaler, val_lr, folder, progress=show_progress)

    methods = [
        (UPSAMPLING, out / UPSAMPLING.name, lambda folder: bicubic_upsample_folder(val_lr, folder, config.scale)),
        (BASELINE, out / "bicubic-baseline", network(baseline_model)),
        (DASR, out / DASR.name, network(dasr_model)),
    ]
    results = [score_variant(variant, produce(run / SR_FOLDER), val_hr, run, "val_hr", scale=config.scale,
                             device=device, show_progress=show_progress) for variant, run, produce in methods]
    compared = [Method(variant.label, run / "eval" / JSON_NAME) for variant, run, _ in methods]
    metrics_csv, metrics_json = write_table(results, out / METRICS_STEM)
    page = build_report(out / DASR.name, methods=compared)
    stage1 = ("stage 1: none (srn.pairs is not 'generated')" if config.srn.pairs != "generated" else
              "stage 1, " + format_validation(config.dsn.pretrain_iters + config.dsn.iters,
                                              check_stage1(out, data, config, device)))
    return DemoResult(results, format_comparison(results), verdict(results), stage1, metrics_csv, metrics_json, page)


def check_stage1(out: Path, data: DemoData, config: Config, device: torch.device) -> dict[str, float]:
    """Stage-1 validation of DASR's finished DSN on the validation photos, with the demo's camera
    as the known true degradation (written to ``OUT/stage1_check.json``): whether the generated LR
    has the real LR's high-frequency statistics and whether the discriminator scores the camera
    as real and the bicubic probes lower. Only after training, so no checkpoint is chosen on it."""
    # Unpaired: PSNR against one noisy realisation is no stage-1 measure (and needs larger images).
    validation = DSNValidationSet([hr for hr, _ in data.val_pairs], [lr for _, lr in data.val_pairs], paired=False)
    validator = DSNValidator(validation, scale=config.scale,
                             tile=config.generate.tile, device=device, degradation=CAMERA)
    bundle = load_dsn(out / DASR.name / "dsn")
    metrics = validator(bundle.generator.to(validator.device), bundle.discriminator.to(validator.device),
                        bundle.freq_filter)
    with atomic_write(out / STAGE1_CHECK, "w") as handle:
        json.dump(metrics, handle, indent=2)
    return metrics


def _silent(*args: object, **kwargs: object) -> None:
    """``print``'s stand-in when progress is off."""


def format_comparison(results: list[Result]) -> str:
    """One row per method, the mean of each metric measured (RGB and Y, border = scale)."""
    metrics = [name for name in METRICS if any(result.scores.get(name) is not None for result in results)]
    rows = [["method", *(HEADINGS[name] for name in metrics)]]
    rows += [[result.variant.label, *(_cell(result.scores.get(name)) for name in metrics)] for result in results]
    return "SR of the validation LR vs its HR (mean; 8-bit, border = scale)\n" + align_columns(rows)


VERDICT_METRICS = ("psnr", "ssim", "haarpsi")
"""Higher is better for each; DASR must lead on all of them to be called ahead."""


def verdict(results: list[Result]) -> str:
    """Whether DASR beats the bicubic-pair baseline on PSNR, SSIM and HaarPSI, with the margins.

    Said outright because the answer is not always yes, and one run is one seed: a margin means
    something only next to the spread between seeds, which the README reports for this demo.
    """
    margins = paired_margins([results], DASR.name, BASELINE.name, VERDICT_METRICS)  # one seed: one difference each
    shown = ", ".join(f"{HEADINGS.get(m.metric, m.metric)} {m.differences.mean:+.4f}" for m in margins)
    ahead = "ahead of" if all(m.differences.mean > 0 for m in margins) else "not ahead of"
    return (
        f"DASR is {ahead} the same network trained on bicubic pairs ({shown}); one seed: compare the margins "
        "with the spread between seeds in the README's demo section."
    )


def _cell(value: float | None) -> str:
    value = finite_or_none(value)
    return "-" if value is None else f"{value:.4f}"


@dataclass(frozen=True)
class SeedsResult:
    """The demo under several seeds, each in ``OUT/seed-<s>``, and what they say together."""

    runs: list[DemoResult]
    """One per seed, in the order given."""
    spread: str
    """Every method's mean ± standard deviation over the seeds."""
    margins: str
    """DASR minus the baseline seed by seed, per verdict metric, next to the spread."""
    verdict: str
    spread_csv: Path
    spread_json: Path


def run_demo_seeds(
    out: Path, config: Config, seeds: Sequence[int], *, preset: str, show_progress: bool = True,
    max_size: int | None = None,
) -> SeedsResult:
    """:func:`run_demo` once per seed in ``OUT/seed-<s>`` (each resumes by itself, so the seeds
    may also run as separate processes first), then the spread over seeds and a verdict that
    calls DASR ahead only where its margin over the baseline is beyond that spread."""
    runs = [
        run_demo(folder, seeded, preset=preset, show_progress=show_progress, max_size=max_size)
        for _, seeded, folder in each_seed(out, config, seeds, command="demo", show_progress=show_progress)
    ]
    per_seed = [run.results for run in runs]
    spread_csv, spread_json = write_spread(per_seed, seeds, METRICS, Path(out) / METRICS_STEM)
    margins = paired_margins(per_seed, DASR.name, BASELINE.name, VERDICT_METRICS)
    return SeedsResult(
        runs,
        format_spread(per_seed, seeds, METRICS),
        format_margins(margins, DASR.label, BASELINE.label),
        seeds_verdict(per_seed, margins),
        spread_csv,
        spread_json,
    )


def seeds_verdict(per_seed: Sequence[Sequence[Result]], margins: Sequence[Margin]) -> str:
    """DASR is called ahead only when it leads the baseline in every seed on every verdict metric
    by more than the seed spread, and never sharpens past the HR's high-frequency energy."""
    ahead = [HEADINGS.get(margin.metric, margin.metric) for margin in margins if margin.beyond_spread]
    behind = [HEADINGS.get(margin.metric, margin.metric) for margin in margins if not margin.beyond_spread]
    hf, hf_hr = spreads(per_seed, "hf").get(DASR.name), spreads(per_seed, "hf_hr").get(DASR.name)
    sharpened = hf is not None and hf_hr is not None and any(a > b for a, b in zip(hf.values, hf_hr.values))
    lines = [
        f"DASR is ahead of the bicubic-pair baseline beyond the seed spread on {', '.join(ahead) or 'no metric'}"
        + (f"; not on {', '.join(behind)}" if behind else ""),
        "DASR's HF energy exceeds the HR's in some seed: it sharpens noise" if sharpened
        else "DASR's HF energy stays at or below the HR's in every seed",
    ]
    return ". ".join(lines) + "."
