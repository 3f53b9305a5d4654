"""Files that are either wholly old or wholly new, never half-written.

A run can be killed at any moment (Ctrl-C, a lost job, a full disk), so every file dasr writes
goes to a temporary name in the same folder and is renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, Union

from dasr.errors import DasrError

PathLike = Union[str, "os.PathLike[str]"]

# Temporary files are created private (0600); the renamed result should get the permissions any
# other new file gets. Reading the umask means setting it, so it is done once, at import.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: Literal["w", "wb"] = "wb") -> Iterator[IO[Any]]:
    """Yield a file whose content replaces ``path`` only once the block finishes without error.

    The data is fsync'ed before the rename so that a power loss cannot leave the new name
    pointing at unwritten blocks.
    """
    target = Path(path)
    handle = tempfile.NamedTemporaryFile(
        mode,
        encoding="utf-8" if mode == "w" else None,
        dir=target.parent,
        prefix=f".{target.name}.",
        suffix=".tmp",
        delete=False,
    )
    try:
        with handle:
            os.chmod(handle.name, 0o666 & ~_UMASK)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)
    except BaseException as error:
        Path(handle.name).unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
            raise DasrError(disk_full_message(target)) from None
        raise


DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def disk_full_message(path: PathLike | None) -> str:
    """What to say when the disk (or quota) is full: the previous files are intact, so the
    same command continues once there is room."""
    where = f" while writing '{path}'" if path is not None else ""
    return f"the disk is full{where}; the previous files are intact: free some space and run the same command again"
