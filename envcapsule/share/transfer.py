"""Following the engine's push and pull streams: one progress step, advanced once per finished layer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from envcapsule.progress import Progress

FINISHED = ("Pushed", "Layer already exists", "Mounted from", "Pull complete", "Already exists")


@dataclass
class Transfer:
    aux: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    lines: list[str] = field(default_factory=list)  # the status lines that are not per-layer byte counts


def follow(stream: Iterable[dict[str, Any]], progress: Progress) -> Transfer:
    """Read the stream to its end (or its first error), reporting each finished layer once."""
    transfer = Transfer()
    finished: set[str] = set()
    for chunk in stream:
        if chunk.get("error") or chunk.get("errorDetail"):
            transfer.error = str(chunk.get("error") or chunk["errorDetail"].get("message", "")).strip()
            break
        if isinstance(chunk.get("aux"), dict):
            transfer.aux.append(chunk["aux"])
        status, layer = str(chunk.get("status", "")), str(chunk.get("id", ""))
        if layer and status.startswith(FINISHED) and layer not in finished:
            finished.add(layer)
            progress.advance(layer)
        elif status and not chunk.get("progressDetail", {}).get("total"):
            line = f"{layer}: {status}" if layer else status
            transfer.lines.append(line)
            progress.log(line)
    return transfer
