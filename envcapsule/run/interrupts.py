"""Holding Ctrl-C back while the engine creates or removes a container.

An interrupt that lands while ``containers.create`` waits for the engine's answer loses the
handle to a container the engine goes on to create; one that lands while a failed launch
removes its container leaves it behind. Inside ``interrupts_held()`` a SIGINT is noted and
raised as KeyboardInterrupt when the block ends, so the code around it always knows what exists.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Defer SIGINT to the end of the block (only the main thread receives signals; elsewhere this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received and previous is not signal.SIG_IGN:
        if callable(previous):
            previous(signal.SIGINT, None)  # Python's own handler raises KeyboardInterrupt; another does what it does
        else:
            raise KeyboardInterrupt
