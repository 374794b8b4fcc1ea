"""Builds that share a layer take turns at it, on this host.

The engine's classic builder finds a cached step only once the build that makes it has committed
it, and of identical sibling steps it takes the newest. So two builds that reach the same layer
together both install it, and a build that reaches a layer while a ``--no-cache`` build of it is
still running finds that build's new COPY in the cache and misses its RUN: the layer is built
again and everything after it stops being shared. A build therefore holds a lock per layer,
keyed on what the layer depends on: exclusive for the layers it may build, shared for the server
stage once it is built, so builds that share only the server stage still run together.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path


def layer_key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def locks_folder() -> Path:
    """One folder per user on this host, whatever envcapsule cache each build uses."""
    return Path(tempfile.gettempdir()) / f"envcapsule-{getattr(os, 'getuid', lambda: 0)()}-layer-locks"


@contextmanager
def holding(keys: Mapping[str, bool]) -> Iterator[None]:
    """Lock each key (True: exclusive, False: shared), in one order for every build so that none waits in a circle."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): builds may then overlap, which costs time, not correctness
        yield
        return
    folder = locks_folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with ExitStack() as held:
        for key in sorted(keys):
            handle = held.enter_context(open(folder / f"{key}.lock", "a"))
            fcntl.flock(handle, fcntl.LOCK_EX if keys[key] else fcntl.LOCK_SH)
        yield  # closing each file releases its lock
