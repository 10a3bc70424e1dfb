"""Read what a forked child process writes to a pipe, up to a wall-clock deadline.

The bounded Jinja render (template.py) runs in a forked child that answers through a pipe; a child
that stops answering must not hold its parent, so the reader gives up at a deadline and leaves
the kill to the caller, which knows the child.
"""

from __future__ import annotations

import os
import select
import time


def read_until(read_fd: int, deadline: float) -> bytes | None:
    """All bytes written to `read_fd` until the writer closes it, or None when `deadline` (on
    time.monotonic's clock) passes first. Closes `read_fd` either way."""
    chunks: list[bytes] = []
    with os.fdopen(read_fd, "rb") as pipe:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([pipe], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(pipe.fileno(), 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
