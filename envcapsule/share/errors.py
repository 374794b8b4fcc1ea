"""What can go wrong when sharing a capsule (the errors live in envcapsule.errors), and the engine's reason in a line."""

from __future__ import annotations

from envcapsule.engine import engine_reason
from envcapsule.errors import ArchiveError, RegistryError, ShareError

__all__ = ["ArchiveError", "RegistryError", "ShareError", "engine_reason"]
