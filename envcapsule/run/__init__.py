"""Launch, list and stop capsule containers (DESIGN §4, "Launch defaults")."""

from __future__ import annotations

from envcapsule.run.containers import list_running, stop
from envcapsule.run.errors import ContainerError, LaunchError
from envcapsule.run.launch import launch
from envcapsule.run.launched import Launched

__all__ = ["ContainerError", "LaunchError", "Launched", "launch", "list_running", "stop"]
