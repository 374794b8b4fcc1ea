"""What can go wrong when launching, listing or stopping capsule containers (defined in envcapsule.errors)."""

from __future__ import annotations

from envcapsule.errors import ContainerError, LaunchError

__all__ = ["ContainerError", "LaunchError"]
