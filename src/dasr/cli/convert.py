"""write RRDB weights of any naming as a dasr model file

Read RRDBNet weights (BasicSR / Real-ESRGAN params or params_ema, ESRGAN 'model.N', mmsr, with or
without 'module.', .pth or .safetensors; or a dasr-srn checkpoint or run folder) and write them as a
dasr model file, whose metadata names the scale and sizes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dasr.errors import DasrError

PROVENANCE_KEYS = ("source", "kind", "naming", "container", "weights", "iteration")
"""What ``load_sr_network`` says about where the weights came from, kept in the file."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN", help="weights file, dasr checkpoint or run folder")
    parser.add_argument("output", type=Path, metavar="OUT", help="model file to write; must end in .safetensors")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def _check_output(path: Path, overwrite: bool) -> None:
    """Refuse before the (possibly slow) read: a wrong name or an existing file is a mistake."""
    if path.suffix.lower() != ".safetensors":
        raise DasrError(f"OUT: '{path}' must end in .safetensors (dasr model files are safetensors files)")
    if path.is_dir():
        raise DasrError(f"OUT: '{path}' is a folder; give the model file's name")
    if path.exists() and not overwrite:
        raise DasrError(f"OUT: '{path}' exists; pass --overwrite to replace it")


def _origin(info: dict[str, Any]) -> str:
    """Where the weights came from, in words, for the summary line."""
    if "naming" in info:
        container = f"container '{info['container']}'" if info["container"] else "bare state dict"
        return f"{info['naming']} naming, {container}"
    if "iteration" in info:
        return f"{info['kind']}, '{info['weights']}' at iteration {info['iteration']}"
    return info["kind"]


def run(args: argparse.Namespace) -> int:
    """ESRGAN-family weights circulate under three namings and several containers, as pickles that
    may need code to open; the model file is one safetensors file that names its own
    hyper-parameters, so whatever reads it needs no flags and runs no code. Reading is
    :func:`dasr.inference.loading.load_sr_network` (every source ``dasr`` accepts as an SR model);
    writing is :func:`dasr.inference.model_file.save_model`."""
    from dasr.inference.loading import load_sr_network
    from dasr.inference.model_file import save_model

    _check_output(args.output, args.overwrite)
    network, info = load_sr_network(args.input, option="IN")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_model(
        args.output,
        network,
        weights=info.get("weights") or info.get("container") or "generator",
        preset=info.get("preset", "none"),
        config=info.get("config") or {},
        training={
            **(info.get("training") or {}),
            "converted_from": {key: info[key] for key in PROVENANCE_KEYS if key in info},
        },
    )
    print(
        f"converted '{info['source']}' ({_origin(info)}): RRDBNet x{network.scale}, nf {network.num_features}, "
        f"nb {network.num_blocks}, gc {network.growth_channels} -> '{args.output}'"
    )
    return 0
