"""one self-contained HTML page about a run: settings, samples, maps, curves, metrics

Write an HTML report of a dasr fit, train-dsn or train-srn run folder. The file embeds everything
(images, charts), needs no server or network, and can be sent as it is."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, metavar="RUN", help="run folder (--out of dasr fit, train-dsn or train-srn)")
    parser.add_argument("--out", type=Path, metavar="FILE", help="HTML file to write (default: RUN/report.html)")
    parser.add_argument(
        "--metrics", type=Path, metavar="FILE",
        help="metrics.json of dasr eval to show (default: RUN/eval/metrics.json when present)",
    )
    parser.add_argument(
        "--compare", action="append", default=[], type=_method, metavar="LABEL=FILE",
        help="a method to compare, by the metrics.json of dasr eval on its SR of the validation pairs "
        "(repeat, in order; the slider shows the last two): each pair's images side by side, and every metric",
    )


def _method(value: str) -> tuple[str, Path]:
    """``LABEL=FILE`` as ``(label, file)``; a :class:`~dasr.report.Method` once the command runs."""
    label, separator, path = value.partition("=")
    if not separator or not label or not path:
        raise argparse.ArgumentTypeError(f"expected LABEL=FILE, e.g. DASR=runs/dasr/eval/metrics.json, got {value!r}")
    return label, Path(path)


def run(args: argparse.Namespace) -> int:
    from dasr.report import Method, build_report

    methods = [Method(label, path) for label, path in args.compare]
    print(f"report: {build_report(args.run, args.out, args.metrics, methods)}")
    return 0
