"""What can go wrong when sharing a capsule (the errors live in envcapsule.errors), and the engine's reason in a line."""

from __future__ import annotations

from envcapsule.errors import ArchiveError, RegistryError, ShareError

__all__ = ["ArchiveError", "RegistryError", "ShareError", "engine_reason"]


def engine_reason(error: Exception) -> str:
    """The first line of what the Docker engine (or the registry behind it) said, for a one-sentence message."""
    text = str(getattr(error, "explanation", None) or error).strip()
    return (text.splitlines() or ["no reason given"])[0][:200]
