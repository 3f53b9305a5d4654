"""``ablate``: train and measure the variants of the paper's Table 1 (DSNs) and Table 2 (SRNs).

Every variant is an ordinary run folder of the stage it ablates, so each resumes by itself, and
its scores are an ordinary ``dasr eval`` report (``eval/metrics.{csv,json}``, same protocol:
8-bit, RGB and Y PSNR/SSIM with a ``scale`` border, LPIPS when its weights are offline). A
variant whose report exists and whose run was made with the same settings is not touched again.

    OUT/
      table1/<variant>/        train-dsn run folder; val/lr/ = DSN(val HR), eval/ = its scores
      table1/bicubic-downscale/  the reference row: val/lr/ = bicubic(val HR), eval/
      table1/true-degradation/   with dsn.val_degradation: val/lr/ = it applied to val HR, eval/
      table2/dsn, table2/pairs the one DSN and generated pairs all SRN variants share
      table2/<variant>/        train-srn run folder; sr/ = SR(val LR), eval/ = its scores
      table{1,2}.csv/.json     the table

Training never sees the validation pairs, so no checkpoint is picked on the set it is scored on.
Table 1 also gets, for every row, the distribution distances of its LR to the real LR set and,
for every trained DSN, its discriminator's scores (:mod:`dasr.stage1_dsn.validation`); they are
cheap, so they are recomputed from the saved images on every run rather than stored.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from dasr.config.loader import diff_configs
from dasr.config.schema import Config
from dasr.data.image_io import tensor_to_pixels, write_image
from dasr.engine.device import select_device
from dasr.engine.run_dir import RunDir
from dasr.evaluation import (
    evaluate_pairs,
    match_pairs,
    super_resolve_folder,
    write_report,
)
from dasr.evaluation.metrics_table import JSON_NAME
from dasr.inference.api import load_model
from dasr.metrics.distribution import high_frequency_stats
from dasr.metrics.protocol import read_rgb_tensor
from dasr.pipeline.ablation_variants import TABLE1_VARIANTS, TABLE2_VARIANTS, Variant
from dasr.pipeline.fit import FitData, make_generated_pairs
from dasr.stage1_5_maps.generate import generate_pairs
from dasr.stage1_dsn.networks import load_dsn
from dasr.stage1_dsn.trainer import DSNData, train_dsn
from dasr.stage1_dsn.validation import DSNValidationSet, DSNValidator
from dasr.stage2_srn.trainer import SRNData, train_srn

REFERENCE = Variant("bicubic-downscale", "bicubic downscale", ())
"""Table 1's reference row: no network, the bicubic downscale of the validation HR."""
TRUE_REFERENCE = Variant("true-degradation", "true degradation", ())
"""Table 1's reference row when ``dsn.val_degradation`` declares the real LR's degradation."""


@dataclass(frozen=True)
class Result:
    """One variant's settings and mean scores (``dasr eval``'s: ``psnr``, ``ssim``, ``psnr_y``, ``ssim_y``,
    ``haarpsi``, ``gmsd``, ``hf``, ``hf_hr``, and ``ms_ssim``, ``lpips`` when measured)."""

    variant: Variant
    scores: dict[str, float | None]


@dataclass(frozen=True)
class AblationData:
    """Unpaired training folders and the validation pairs ``(HR, real LR)`` every variant is scored on."""

    hr_paths: list[Path]
    lr_paths: list[Path]
    val_pairs: list[tuple[Path, Path]]


def run_table1(
    config: Config, data: AblationData, out: Path, *, variants: Sequence[Variant] = TABLE1_VARIANTS,
    show_progress: bool = True,
) -> list[Result]:
    """Train each Table 1 DSN variant in ``out/table1/<name>`` and score DSN(val HR) against
    the real val LR, after the reference rows (bicubic downscale, and the true degradation when
    ``dsn.val_degradation`` declares it)."""
    root, scorer = Path(out) / "table1", _Scorer(config, show_progress)
    hr_paths, real_lr = [hr for hr, _ in data.val_pairs], [lr for _, lr in data.val_pairs]
    validator = DSNValidator(DSNValidationSet.from_pairs(data.val_pairs), scale=config.scale,
                             tile=config.generate.tile, device=scorer.device, degradation=config.dsn.val_degradation)
    results = []
    for variant, probe in ((REFERENCE, "bicubic"), (TRUE_REFERENCE, "true")):
        if probe not in validator.probes:
            continue
        if variant == TRUE_REFERENCE:  # remade every time: it must show the degradation declared now
            (root / variant.name / "eval" / JSON_NAME).unlink(missing_ok=True)
        lr_dir, images = root / variant.name / "val" / "lr", validator.probes[probe]
        result = scorer.score(variant, root / variant.name, None,
                              lambda images=images, lr_dir=lr_dir: _write_images(images, hr_paths, lr_dir),
                              real_lr, "--val-lr")
        results.append(_with_distributions(result, validator, lr_dir, None))
    for variant in variants:
        run, settings = root / variant.name, variant.apply(config)

        def produce(run: Path = run, settings: Config = settings) -> list[Path]:
            train_dsn(settings, DSNData(data.hr_paths, data.lr_paths), run, show_progress=show_progress)
            generate_pairs(load_dsn(run), hr_paths, run / "val", scale=settings.scale,
                           tile=settings.generate.tile, device=scorer.device, progress=show_progress)
            return [run / "val" / "lr" / f"{hr.stem}.png" for hr in hr_paths]

        results.append(_with_distributions(scorer.score(variant, run, settings, produce, real_lr, "--val-lr"),
                                           validator, run / "val" / "lr", run))
    return results


def _with_distributions(result: Result, validator: DSNValidator, lr_dir: Path, dsn_run: Path | None) -> Result:
    """``result`` plus the distribution distances of the LR images in ``lr_dir`` (named after the
    val HR) to the real LR and, for a trained DSN, its discriminator's scores. The HF energy
    itself is left to the eval report (``hf``, ``hf_hr``), which crops the border."""
    images = [read_rgb_tensor(lr_dir / f"{stem}.png") for stem in validator.stems]
    scores = {key: value for key, value in validator.distances(high_frequency_stats(images)).items() if key != "hf"}
    if dsn_run is not None:
        bundle = load_dsn(dsn_run)
        scores.update(validator.discriminator_scores(bundle.discriminator.to(validator.device), bundle.freq_filter,
                                                     images))
    return Result(result.variant, {**result.scores, **scores})


def run_table2(
    config: Config, data: AblationData, out: Path, *, variants: Sequence[Variant] = TABLE2_VARIANTS,
    show_progress: bool = True,
) -> list[Result]:
    """Train one DSN and its generated pairs in ``out/table2``, then each Table 2 SRN variant in
    ``out/table2/<name>`` on them, and score SR(val LR) against the val HR."""
    root, scorer = Path(out) / "table2", _Scorer(config, show_progress)
    hr_refs, real_lr = [hr for hr, _ in data.val_pairs], [lr for _, lr in data.val_pairs]
    pairs_dir = None
    results = []
    for variant in variants:
        run, settings = root / variant.name, variant.apply(config)

        def produce(run: Path = run, settings: Config = settings) -> list[Path]:
            nonlocal pairs_dir
            if settings.srn.pairs == "generated" and pairs_dir is None:
                pairs_dir = make_generated_pairs(config, FitData(data.hr_paths, data.lr_paths), root,
                                                 show_progress=show_progress)
            srn_data = SRNData(hr_paths=data.hr_paths, real_lr_paths=data.lr_paths,
                               pairs_dir=pairs_dir if settings.srn.pairs == "generated" else None)
            checkpoint = train_srn(settings, srn_data, run, show_progress=show_progress)
            return super_resolve_folder(load_model(checkpoint, device=scorer.device), real_lr, run / "sr",
                                        progress=show_progress)

        results.append(scorer.score(variant, run, settings, produce, hr_refs, "--val-hr"))
    return results


@dataclass
class _Scorer:
    """Scores a variant once: a finished variant's saved scores are read back instead."""

    config: Config
    show_progress: bool

    @property
    def device(self) -> torch.device:
        return select_device(self.config.device)

    def score(
        self,
        variant: Variant,
        run: Path,
        settings: Config | None,
        produce: Callable[[], Sequence[Path]],
        references: list[Path],
        reference_option: str,
    ) -> Result:
        """``produce`` trains or resumes the variant and returns the images to score against
        ``references`` (matched by name); the report goes to ``run/eval``."""
        scores = _finished(run, settings)
        if scores is not None:
            return Result(variant, scores)
        if self.show_progress:
            print(f"ablate: {run.parent.name}/{run.name}", flush=True)
        return score_variant(variant, produce(), references, run, reference_option, scale=self.config.scale,
                             device=self.device, show_progress=self.show_progress)


def score_variant(
    variant: Variant, images: Sequence[Path], references: list[Path], run: Path, reference_option: str, *,
    scale: int, device: torch.device, show_progress: bool,
) -> Result:
    """Score ``images`` against ``references`` (matched by name) with ``dasr eval``'s protocol,
    writing the report to ``run/eval``: the scoring of every ablation variant and demo method."""
    pairs = match_pairs(images, references, sr_option=str(run), hr_option=reference_option)
    report = evaluate_pairs(pairs, scale=scale, device=device, progress=show_progress)
    write_report(report, run / "eval")
    for notice in report.notices:  # e.g. why LPIPS is missing; Python shows each one once
        warnings.warn(notice, stacklevel=2)
    return Result(variant, report.mean())


def _finished(run: Path, settings: Config | None) -> dict[str, float | None] | None:
    """The mean scores of a finished variant: its report exists and, for a trained variant, its
    run's ``config.yaml`` holds the same settings. Otherwise the variant runs again: its stage
    resumes (e.g. more iterations) or refuses settings it cannot resume with."""
    report = run / "eval" / JSON_NAME
    if not report.is_file():
        return None
    if settings is not None:
        saved = RunDir(run, create=False).saved_config()
        if saved is None or diff_configs(saved, settings):
            return None
    return json.loads(report.read_text())["mean"]


def _write_images(images: list[torch.Tensor], hr_paths: list[Path], out_dir: Path) -> list[Path]:
    """A reference row's LR images (made from the val HR, cropped to ``scale`` times its LR
    partner: Table 1's protocol) as 8-bit PNGs named after their HR."""
    paths = [out_dir / f"{hr_path.stem}.png" for hr_path in hr_paths]
    for path, image in zip(paths, images):
        write_image(path, tensor_to_pixels(image))
    return paths
