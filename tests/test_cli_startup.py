"""``dasr --help``, ``--version``, an argument error and ``dasr COMMAND --help`` load no torch,
torchvision or OpenCV: the parser is built from light modules only, and library code is imported
when a command runs (:mod:`dasr.cli.main`). Each check runs in a fresh interpreter, since this
test process has long imported torch. Timing is not asserted here: ``benchmarks/cli_startup.py``."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("torch", "torchvision", "cv2")

PROBE = textwrap.dedent(
    """
    import argparse, contextlib, io, json, sys

    from dasr.cli.main import build_parser

    HEAVY = {heavy!r}
    parser = build_parser()
    report = {{"after build_parser": [name for name in HEAVY if name in sys.modules], "exits": {{}}}}

    def commands(parser, prefix):
        # Every command and sub-command (``datasets check``) that argparse knows.
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield [*prefix, name]
                    yield from commands(sub, [*prefix, name])

    argvs = [[*command, "--help"] for command in commands(parser, [])]
    argvs += [["--help"], ["--version"], ["sr"], ["sr", "--no-such-option"], ["no-such-command"]]
    for argv in argvs:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                build_parser().parse_args(argv)
                code = None
            except SystemExit as stop:
                code = stop.code
        report["exits"][" ".join(argv)] = [code, out.getvalue()[:200]]
    report["after parsing"] = [name for name in HEAVY if name in sys.modules]
    {extra}
    print(json.dumps(report))
    """
)


def probe(extra: str = "") -> dict:
    """Run the probe in a fresh interpreter; ``extra`` is a statement run before reporting."""
    code = PROBE.format(heavy=HEAVY, extra=extra)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_parser_and_every_help_leave_torch_torchvision_and_opencv_out() -> None:
    report = probe()
    assert report["after build_parser"] == [], "python -X importtime -c 'from dasr.cli.main import build_parser'"
    assert report["after parsing"] == []
    exits = report["exits"]
    helps = {argv: output for argv, (code, output) in exits.items() if argv.endswith("--help")}
    assert {"sr --help", "train-dsn --help", "datasets check --help", "--help"} <= set(helps)
    for argv, output in helps.items():
        assert exits[argv][0] == 0, argv
        assert output.startswith(f"usage: dasr {argv.removesuffix('--help')}".rstrip()), argv
    assert exits["--version"][0] == 0
    assert exits["sr"][0] == exits["sr --no-such-option"][0] == exits["no-such-command"][0] == 2


def test_the_probe_sees_a_heavy_import() -> None:
    """The check above can fail: a module loading torch at import shows up in the report."""
    report = probe(extra='import dasr.ops.frequency; report["after parsing"] = [n for n in HEAVY if n in sys.modules]')
    assert "torch" in report["after parsing"]
