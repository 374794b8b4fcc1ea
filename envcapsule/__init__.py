"""envcapsule: capture a notebook's exact environment, rebuild it anywhere, prove it reproduces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envcapsule._version import __version__

if TYPE_CHECKING:
    from envcapsule.snapshot import SnapshotResult

__all__ = ["__version__", "snapshot"]


def snapshot(*args: Any, **kwargs: Any) -> SnapshotResult:
    """Capture a notebook's kernel environment into a capsule folder; see envcapsule.snapshot.snapshot."""
    from envcapsule.snapshot import snapshot as _snapshot

    return _snapshot(*args, **kwargs)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext envcapsule` registers the %envcapsule magic, and imports nothing heavy."""
    from envcapsule.magics import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "@envcapsule/labextension"}]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """The Jupyter server extension lives in envcapsule.server; importing it here would make %load_ext heavy."""
    from envcapsule.server import _jupyter_server_extension_points as points

    return points()
