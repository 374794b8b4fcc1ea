"""envcapsule's Jupyter server extension: REST routes under ``<base_url>envcapsule/api/`` over the same core as the CLI.

Only the Jupyter server imports this package (through ``envcapsule._jupyter_server_extension_points``);
the kernel side never does.
"""

from __future__ import annotations

from typing import Any

from envcapsule._version import __version__
from envcapsule.server.app import EnvcapsuleApp

__all__ = ["EnvcapsuleApp", "__version__"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "envcapsule.server", "app": EnvcapsuleApp}]
