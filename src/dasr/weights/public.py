"""RRDB weights that ESRGAN and Real-ESRGAN publish, by the names their projects give them.

A name resolves to ``torch.hub.get_dir()/checkpoints/<file>``, torch's own cache, so a file
fetched once (by dasr, by torch.hub or by hand) is found again offline. A missing file is
downloaded with ``torch.hub.download_url_to_file`` from the URL the project publishes; when that
fails (no network) or the project publishes no direct link (ESRGAN's own files are in a Google
Drive folder), one line names the file, the folder to put it in and where to get it.

These are the paper-size networks (23 blocks, 64 features, growth 32; the anime model 6 blocks),
so they need matching ``srn.num_blocks``/``srn.num_features``/``srn.growth_channels``; the
hyper-parameter check of ``srn.init`` says which to set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

from dasr.errors import DasrError

_REAL_ESRGAN = "https://github.com/xinntao/Real-ESRGAN/releases/download"
_ESRGAN_DRIVE = "https://drive.google.com/drive/u/0/folders/17VYV_SoZZesU6mbxz2dMAIccSSlqLecY"
"""The Google Drive folder ESRGAN's README links its two models from (no direct file links)."""


@dataclass(frozen=True)
class PublicWeights:
    """One published RRDB file."""

    name: str
    file: str
    """Its file name, also its name in the hub cache."""
    url: str
    """Where its project publishes it."""
    direct: bool
    """``url`` is the file itself (a GitHub release asset), so it can be downloaded."""
    description: str


PUBLIC_WEIGHTS = {
    entry.name: entry
    for entry in (
        PublicWeights(
            "RealESRNet_x4plus", "RealESRNet_x4plus.pth", f"{_REAL_ESRGAN}/v0.1.1/RealESRNet_x4plus.pth", True,
            "Real-ESRGAN's PSNR-oriented x4 network (L1 on its synthetic degradations), the start of its GAN stage",
        ),
        PublicWeights(
            "RealESRGAN_x4plus", "RealESRGAN_x4plus.pth", f"{_REAL_ESRGAN}/v0.1.0/RealESRGAN_x4plus.pth", True,
            "Real-ESRGAN x4, GAN-trained",
        ),
        PublicWeights(
            "RealESRGAN_x2plus", "RealESRGAN_x2plus.pth", f"{_REAL_ESRGAN}/v0.2.1/RealESRGAN_x2plus.pth", True,
            "Real-ESRGAN x2 (x4 network on pixel-unshuffled input: srn.init needs the same layout)",
        ),
        PublicWeights(
            "RealESRGAN_x4plus_anime_6B", "RealESRGAN_x4plus_anime_6B.pth",
            f"{_REAL_ESRGAN}/v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth", True, "Real-ESRGAN x4 for anime, 6 blocks",
        ),
        PublicWeights(
            "ESRGAN_x4", "ESRGAN_SRx4_DF2KOST_official-ff704c30.pth",
            f"{_REAL_ESRGAN}/v0.1.1/ESRGAN_SRx4_DF2KOST_official-ff704c30.pth", True,
            "the official ESRGAN x4 model as Real-ESRGAN's model zoo republishes it (BasicSR names)",
        ),
        PublicWeights(
            "RRDB_ESRGAN_x4", "RRDB_ESRGAN_x4.pth", _ESRGAN_DRIVE, False, "ESRGAN x4 (the paper's final model)"
        ),
        PublicWeights(
            "RRDB_PSNR_x4", "RRDB_PSNR_x4.pth", _ESRGAN_DRIVE, False,
            "ESRGAN's PSNR-oriented x4 RRDB, the start of its GAN stage",
        ),
    )
}


def hub_checkpoints() -> Path:
    """torch's cache of downloaded weights (``$TORCH_HOME/hub/checkpoints`` by default)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def hub_file(url: str) -> Path:
    """Where torch.hub keeps (or would keep) the file published at ``url``, e.g. torchvision's
    VGG-19 or AlexNet weights: callers that must not download check this file instead."""
    return hub_checkpoints() / os.path.basename(urlparse(url).path)


def public_file(entry: PublicWeights, option: str = "srn.init") -> Path:
    """The cached file of ``entry``, downloaded first when it is missing and can be."""
    path = hub_checkpoints() / entry.file
    if path.is_file():
        return path
    where = f"put {entry.file} in {path.parent}"
    if not entry.direct:
        raise DasrError(
            f"{option}={entry.name}: {entry.file} is not cached and its project publishes no direct link: "
            f"download it from {entry.url} and {where}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(entry.url, str(path), progress=True)
    except OSError as error:  # URLError, timeouts, SSL and file-system errors are all OSErrors
        reason = " ".join(str(error).split())
        raise DasrError(
            f"{option}={entry.name}: {entry.file} is not cached and cannot be downloaded ({reason}): "
            f"download {entry.url} and {where}"
        ) from None
    return path
