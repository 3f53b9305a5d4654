"""train DASR and a bicubic-pairs baseline on bundled photos and compare them

Build a small unpaired data set from the wallpapers shipped with dasr (one half of each photo as clean
HR, the other half through one phone camera as real LR, held-back photos through the same camera as
validation pairs), train DASR (OUT/dasr) and the same SR network on bicubic pairs
(OUT/bicubic-baseline), and compare both with bicubic upsampling on the validation pairs. Under 15
minutes on 2 CPU cores with the default preset (cpu-small; scale 4); rerunning the same command
resumes."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasr.cli.options import add_config_options, config_from_args

DEMO_PRESET = "cpu-small"
"""Both trainings, the data set and the scoring: about 7 minutes on 2 idle CPU cores."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("dasr-demo"), help="output folder (default: dasr-demo)")
    parser.add_argument(
        "--seeds", type=int, nargs="+", metavar="SEED",
        help="run the demo once per seed in OUT/seed-<SEED> and report the mean and spread over seeds; "
        "a DASR margin counts only beyond that spread (default: one run of the configured seed in OUT)",
    )
    add_config_options(parser, default_preset=DEMO_PRESET)
    parser.set_defaults(scale=4)


def run(args: argparse.Namespace) -> int:
    from dasr.demo.run import run_demo

    if args.seeds:
        return _run_seeds(args)
    result = run_demo(args.out, config_from_args(args), preset=args.preset)
    print(result.table)
    print(result.stage1)
    print(result.verdict)
    print(f"metrics: {result.metrics_csv}")
    print(f"report: {result.report}")
    return 0


def _run_seeds(args: argparse.Namespace) -> int:
    from dasr.demo.run import run_demo_seeds

    result = run_demo_seeds(args.out, config_from_args(args), args.seeds, preset=args.preset)
    for seed, run in zip(args.seeds, result.runs):
        print(f"seed {seed}: {run.table}")
        print(run.stage1)
    print(result.spread)
    print(result.margins)
    print(result.verdict)
    print(f"spread: {result.spread_csv} (and .json); reports: {args.out}/seed-<SEED>/dasr/report.html")
    return 0
