"""What can go wrong when launching, listing or stopping capsule containers."""

from __future__ import annotations

from envcapsule.errors import EnvcapsuleError


class LaunchError(EnvcapsuleError):
    """The container could not be started, or Jupyter in it never answered."""


class ContainerError(EnvcapsuleError):
    """A container named for stopping does not exist or is not one of envcapsule's."""
