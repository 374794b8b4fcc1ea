"""What can go wrong when sharing a capsule. Each error carries one sentence: what happened, and what to do."""

from __future__ import annotations

from envcapsule.errors import EnvcapsuleError


class ShareError(EnvcapsuleError):
    """A binder/ export or a Binder link cannot be made (no git repository, no remote, a folder in the way)."""


class RegistryError(EnvcapsuleError):
    """A registry refused a push or pull, or a reference is malformed."""


class ArchiveError(EnvcapsuleError):
    """An image archive is damaged, foreign, or would overwrite something different."""


def engine_reason(error: Exception) -> str:
    """The first line of what the Docker engine (or the registry behind it) said, for a one-sentence message."""
    text = str(getattr(error, "explanation", None) or error).strip()
    return (text.splitlines() or ["no reason given"])[0][:200]
