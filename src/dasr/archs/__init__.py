"""Networks and their registry: DSN generators and patch discriminators (stage 1), RRDBNet (stage 2).

Importing this package registers every network with :mod:`dasr.archs.registry`.
"""

from dasr.archs.discriminators import (
    OfficialPatchDiscriminator,
    PaperPatchDiscriminator,
    PatchDiscriminator,
)
from dasr.archs.dsn import OfficialDSN, PaperDSN
from dasr.archs.physical_dsn import PhysicalDSN
from dasr.archs.registry import build_arch, list_archs, register_arch
from dasr.archs.rrdbnet import RRDBNet

__all__ = [
    "OfficialDSN",
    "OfficialPatchDiscriminator",
    "PaperDSN",
    "PaperPatchDiscriminator",
    "PatchDiscriminator",
    "PhysicalDSN",
    "RRDBNet",
    "build_arch",
    "list_archs",
    "register_arch",
]
