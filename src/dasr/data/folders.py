"""Turning a command-line folder (or single image) option into a checked list of image files.

Every check names the option it came from, so a user with several folder options (``--hr``,
``--lr``, ...) knows which one to fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from dasr.data.image_io import IMAGE_EXTENSIONS, decode_image
from dasr.errors import DasrError

_EXTENSION_LIST = ", ".join(IMAGE_EXTENSIONS)


def list_images(folder: str | Path, option: str) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name; or ``[folder]`` if it is one.

    Not recursive, and hidden files (macOS ``._x.png`` and the like) are ignored, so the list is
    exactly what the user sees in the folder.
    """
    path = Path(folder)
    if path.is_file():
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise DasrError(f"{option}: '{path}' is not an image file ({_EXTENSION_LIST})")
        return [path]
    if not path.exists():
        raise DasrError(f"{option}: folder '{path}' does not exist")
    if not path.is_dir():
        raise DasrError(f"{option}: '{path}' is neither a folder nor an image file")
    try:
        images = sorted(entry for entry in path.iterdir() if entry.is_file() and _is_listed(entry))
    except OSError as error:
        raise DasrError(f"{option}: cannot list folder '{path}': {error.strerror}") from error
    if not images:
        raise DasrError(f"{option}: folder '{path}' holds no images ({_EXTENSION_LIST})")
    return images


def check_images(paths: Sequence[Path], option: str, skip_bad: bool) -> list[Path]:
    """The paths whose files decode completely, checked before training rather than hours in.

    A bad file stops everything unless ``skip_bad``, in which case it is left out with one
    warning; leaving out every file is still an error.
    """
    readable = []
    for path in paths:
        try:
            decode_image(path)
        except DasrError as error:
            if not skip_bad:
                message = f"{option}: {error} (use --skip-bad to leave such files out)"
                raise DasrError(message) from error
            warnings.warn(f"{option}: skipping {error}", stacklevel=2)
            continue
        readable.append(path)
    if not readable:
        raise DasrError(f"{option}: none of the {len(paths)} image files could be read")
    return readable


def _is_listed(path: Path) -> bool:
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS
