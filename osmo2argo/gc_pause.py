"""Pause Python's cyclic garbage collector while a compile builds its data.

A compile allocates a few hundred thousand containers and frees almost none of them until it
ends; every generation-2 collection re-scans all that live data, so with the collector running a
5,000-task compile spends over half its time in it (`make bench`). Reference counting still frees
everything acyclic at once; cycles made meanwhile are collected when the pause ends.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Disable the collector for the block; nested uses and callers that disabled it are kept."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
