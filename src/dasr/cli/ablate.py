"""the paper's ablation tables: DSN variants (1) or SRN variants (2)

Train every variant of the paper's Table 1 (DSN input x adversarial filter) or Table 2 (SRN pairs x
target-domain GAN x map weighting) in OUT/table<N>/<variant>, score them on the validation pairs and
print the table; OUT/table<N>.csv/.json hold it. Rerunning resumes and skips finished variants. See
docs/ablation.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasr.cli.options import (
    add_unpaired_training_options,
    config_from_args,
    read_unpaired_data,
)
from dasr.errors import DasrError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_unpaired_training_options(parser)
    # Checked by ablate(), not by argparse, so that a wrong value is one line like every other error.
    parser.add_argument("--table", type=int, required=True, help="1: DSN variants, 2: SRN variants")
    parser.add_argument("--out", type=Path, required=True, help="folder of all variants (created or resumed)")
    parser.add_argument(
        "--variants", type=lambda text: [name for name in text.split(",") if name], metavar="NAME[,NAME...]",
        help="only these variants (folder names, see docs/ablation.md); the reference rows always run",
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", metavar="SEED",
        help="run the table once per seed in OUT/seed-<SEED> and add the mean and spread over seeds "
        "(OUT/table<N>-seeds.csv/.json)",
    )


def run(args: argparse.Namespace) -> int:
    from dasr.pipeline.ablate import AblationData
    from dasr.pipeline.ablation_table import ablate, ablate_seeds

    if args.val_hr is None or args.val_lr is None:
        raise DasrError("ablate needs --val-hr and --val-lr: the tables are measured on those pairs")
    config = config_from_args(args)
    data = read_unpaired_data(args, AblationData)
    if args.seeds:
        print(ablate_seeds(args.table, config, data, args.out, args.seeds, variants=args.variants))
        print(f"spread: {args.out / f'table{args.table}-seeds.csv'} (and .json); each seed in {args.out}/seed-<SEED>")
        return 0
    print(ablate(args.table, config, data, args.out, variants=args.variants))
    print(f"table: {args.out / f'table{args.table}.csv'} (and .json); runs and scores in {args.out / f'table{args.table}'}")
    return 0
