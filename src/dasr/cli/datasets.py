"""list the paper's data sets, or check a downloaded one

Folder layouts of the data sets of the paper's experiments (docs/datasets.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dasr.datasets.layouts import LAYOUTS
from dasr.errors import DasrError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the known data sets, their folders and where to get them")
    check = actions.add_parser(
        "check",
        help="check that ROOT holds a complete copy of a data set",
        description="Check the folders, file names and image counts under ROOT against the data set's "
        "published layout. Prints OK with the counts (exit 0), or every problem and where to download "
        "the data (exit 2).",
    )
    check.add_argument("root", type=Path, metavar="ROOT", help="folder the data set was unpacked into")
    check.add_argument("--dataset", required=True, choices=tuple(LAYOUTS), metavar="NAME",
                       help=f"one of: {', '.join(LAYOUTS)}")


def _list_layouts() -> int:
    for layout in LAYOUTS.values():
        print(f"{layout.name}: {layout.title}")
        for image_set in layout.sets:
            print(f"    {image_set.describe()}")
        if layout.note:
            print(f"    note: {layout.note}")
        print(f"    download: {layout.download}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list_layouts()
    from dasr.datasets.check import check_dataset

    result = check_dataset(args.root, args.dataset)
    if result.ok:
        print(f"OK: {result.layout.name} at {result.root}")
        for image_set, count in result.found:
            print(f"    {image_set.folder}/: {count} images ({image_set.role})")
        return 0
    for problem in result.problems:
        print(f"problem: {problem}")
    print(f"get it: {result.layout.download}")
    raise DasrError(
        f"{result.layout.name} at '{result.root}' is incomplete: {len(result.problems)} problem(s) listed above"
    )
