"""Drawing two groups of figures at once, on two cores.

matplotlib draws in Python under the GIL, so threads do not overlap two figures. Where the
platform forks cheaply and safely (Linux), ``drawn_beside`` runs one group in a forked child
process (which shares the parent's memory: nothing is copied or pickled) while the parent
draws the other. Elsewhere, or when the child fails, the group is drawn in the parent after
the other, so its error surfaces here with its own message and nothing is lost.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def can_fork() -> bool:
    """Whether ``drawn_beside`` draws in a child process here: Linux with the fork start method,
    and not inside a daemonic process (a pool's worker), which may not have children."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


@contextmanager
def drawn_beside(draw: Callable[[], None]) -> Iterator[None]:
    """Run ``draw`` while the ``with`` body runs, in a forked child where ``can_fork``; on
    leaving, wait for it, and run ``draw`` here if it did not finish (or could not fork)."""
    child = multiprocessing.get_context("fork").Process(target=draw, daemon=True) if can_fork() else None
    if child is not None:
        sys.stdout.flush()  # else the child would write the parent's buffered lines a second time
        sys.stderr.flush()
        child.start()
    try:
        yield
    finally:
        if child is not None:
            child.join()
    if child is None or child.exitcode != 0:
        draw()
