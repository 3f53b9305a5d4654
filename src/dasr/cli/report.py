"""``dasr report``: one self-contained HTML page about a run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasr.report import build_report


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="one self-contained HTML page about a run: settings, samples, maps, curves, metrics",
        description="Write an HTML report of a dasr fit, train-dsn or train-srn run folder. The file "
        "embeds everything (images, charts), needs no server or network, and can be sent as it is.",
    )
    parser.add_argument("run", type=Path, metavar="RUN", help="run folder (--out of dasr fit, train-dsn or train-srn)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="HTML file to write (default: RUN/report.html)")
    parser.add_argument(
        "--metrics", type=Path, metavar="FILE",
        help="metrics.json of dasr eval to show (default: RUN/eval/metrics.json when present)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(f"report: {build_report(args.run, args.out, args.metrics)}")
    return 0
