"""A progress bar with rate and ETA that stays readable when stderr goes to a log file.

On a terminal the bar redraws twice a second; redirected to a file (batch jobs, ``nohup``) every
redraw becomes a new line, so it then redraws only every 30 seconds.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm import tqdm


def progress(total: int, initial: int = 0, desc: str = "", enabled: bool = True, items: Iterable | None = None) -> tqdm:
    """A bar over iterations ``initial .. total``; the caller shows losses with ``set_postfix``.
    With ``items``, iterating the bar yields them and counts each (closing it after the last).

    ``initial`` makes a resumed run show its true position, and tqdm's rate counts only the
    iterations done since, so the ETA is not skewed by the skipped ones. ``enabled=False``
    (``--no-progress``, tests) keeps the same object so callers need no second code path.
    """
    interactive = sys.stderr.isatty()
    return tqdm(
        items,
        total=total,
        initial=initial,
        desc=desc,
        unit="it",
        file=sys.stderr,
        dynamic_ncols=interactive,
        mininterval=0.5 if interactive else 30.0,
        smoothing=0.05,
        disable=not enabled,
    )
