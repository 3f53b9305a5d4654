"""The ``dasr`` command: sub-command dispatch and the one place where errors become exit codes.

Each sub-command lives in its own module of :data:`COMMANDS` and is a thin shell over library
code: the docstring's summary line is the command's line in ``dasr --help`` and the rest its
``--help`` description, ``add_arguments(parser)`` declares its options and ``run(args)`` does the
work. Building the parser imports every command module, so those
import only light modules at their top (argparse, ``dasr.errors``, ``dasr.config``, torch-free name
lists) and the library code inside ``run``: ``dasr --help``, ``--version`` and a mistyped option
never load torch, torchvision or OpenCV (``tests/test_cli_startup.py``; figures:
``benchmarks/cli_startup.py``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from dasr import __version__
from dasr.errors import DasrError
from dasr.files.atomic import DISK_FULL_ERRNOS, disk_full_message

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

COMMANDS = {
    "train-dsn": "train_dsn", "generate": "generate", "train-srn": "train_srn", "fit": "fit", "sr": "sr",
    "eval": "evaluate", "report": "report", "convert": "convert", "degrade": "degrade", "datasets": "datasets",
    "ablate": "ablate", "demo": "demo",
}
"""Every command, in the order ``dasr --help`` lists them, and its module in ``dasr.cli``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dasr",
        description="Unsupervised real-world super-resolution with domain-distance aware training.",
    )
    parser.add_argument("--version", action="version", version=f"dasr {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        command = importlib.import_module(f"dasr.cli.{module}")
        summary, _, description = (command.__doc__ or "").partition("\n\n")
        sub = subparsers.add_parser(name, help=summary, description=description)
        command.add_arguments(sub)
        sub.set_defaults(func=command.run)
    return parser


def show_warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (a skipped file, a padded image) are for users: one line, no source location."""
    print(f"dasr: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; user mistakes print one line and return 2, Ctrl-C returns 130."""
    warnings.showwarning = show_warning_line
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DasrError as error:
        print(f"dasr: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:
        if error.errno not in DISK_FULL_ERRNOS:
            raise
        print(f"dasr: error: {disk_full_message(error.filename)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("dasr: interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
