"""Turning a command-line folder (or single image) option into a checked list of image files.

Every check names the option it came from, so a user with several folder options (``--hr``,
``--lr``, ...) knows which one to fix.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from dasr.data.image_io import IMAGE_EXTENSIONS, decode_image
from dasr.errors import DasrError

_EXTENSION_LIST = ", ".join(IMAGE_EXTENSIONS)


UNREADABLE_IMAGE_EXTENSIONS = (
    ".heic", ".heif", ".avif", ".jxl", ".svg", ".exr", ".hdr", ".psd",
    ".dng", ".raw", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf",
)
"""Endings of image files dasr does not decode (camera raw, HEIF, vector, HDR): such a file in an
input folder is named, not passed over in silence, so a user knows why it got no output."""


def list_images(folder: str | Path, option: str, *, warn_unreadable: bool = True) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name; or ``[folder]`` if it is one.

    Not recursive, and hidden files (macOS ``._x.png`` and the like) are ignored, so the list is
    exactly what the user sees in the folder. What looks like an image but cannot be one (a
    format dasr does not read, a folder or a broken link named ``x.png``) gets one warning each,
    unless ``warn_unreadable`` is off for a caller that reports them itself
    (:func:`unreadable_images` lists them).
    """
    for unreadable, reason in unreadable_images(folder) if warn_unreadable else ():
        warnings.warn(f"{option}: skipping '{unreadable}': {reason}", stacklevel=2)
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
        images = sorted(entry for entry in path.iterdir() if entry.is_file() and is_listed_image(entry))
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


_UNREADABLE_FORMAT = f"not a format dasr reads (convert it to one of {_EXTENSION_LIST})"


def unreadable_images(folder: str | Path) -> list[tuple[Path, str]]:
    """``(entry, why)`` for each entry directly inside ``folder`` that looks like an image but is
    none dasr can read: another format, a folder, a broken or looping link."""
    path = Path(folder)
    if not path.is_dir():
        return []
    try:
        entries = sorted(entry for entry in path.iterdir() if not entry.name.startswith("."))
    except OSError:
        return []  # list_images reports the folder itself
    found = []
    for entry in entries:
        extension = entry.suffix.lower()
        if extension in UNREADABLE_IMAGE_EXTENSIONS:
            found.append((entry, _UNREADABLE_FORMAT))
        elif extension in IMAGE_EXTENSIONS and not entry.is_file():
            why = "a folder" if entry.is_dir() else "a broken or looping link" if entry.is_symlink() else "not a file"
            found.append((entry, f"is {why}, not an image file"))
    return found


def output_stems(paths: Sequence[Path]) -> dict[Path, str]:
    """A name stem for each input's output: its own stem, or ``<stem>_<ext>`` where two inputs
    share a stem (``a.jpg`` and ``a.png`` give ``a_jpg`` and ``a_png``), so that no output
    silently replaces another. Callers still check the result for the rare leftover clash."""
    counts = Counter(path.stem for path in paths)
    return {
        path: f"{path.stem}_{path.suffix.lower().lstrip('.')}" if counts[path.stem] > 1 else path.stem
        for path in paths
    }


def clashing_outputs(outputs: dict[Path, Path]) -> dict[Path, list[Path]]:
    """For each input whose output (``outputs[input]``) another input also gets, those others."""
    by_output: dict[Path, list[Path]] = {}
    for source, output in outputs.items():
        by_output.setdefault(output, []).append(source)
    return {
        source: [other for other in by_output[output] if other != source]
        for source, output in outputs.items()
        if len(by_output[output]) > 1
    }


def is_listed_image(path: Path) -> bool:
    """Whether a folder option lists ``path``: a visible name with an image ending."""
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_EXTENSIONS
