"""How long-running work reports progress, independent of who renders it (rich, widgets, SSE)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def step(self, description: str, total: int | None = None) -> None:
        """A new step begins; ``total`` items will be advanced through it when known."""

    def advance(self, item: str = "") -> None:
        """One item of the current step is done."""

    def log(self, line: str) -> None:
        """A line worth showing in a log tail."""


class NullProgress:
    def step(self, description: str, total: int | None = None) -> None:
        pass

    def advance(self, item: str = "") -> None:
        pass

    def log(self, line: str) -> None:
        pass
