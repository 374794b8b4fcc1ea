"""envcapsule: capture a notebook's exact environment, rebuild it anywhere, prove it reproduces.

From Python, the same workflows as the ``envcapsule`` command::

    import envcapsule

    envcapsule.snapshot("analysis.ipynb", python=".venv/bin/python")  # analysis.capsule/
    built = envcapsule.build("analysis.ipynb")                         # envcapsule/analysis:<hash>
    report = envcapsule.verify("analysis.ipynb")
    assert report.reproduced, report.render_text()

Every workflow takes keyword-only options, returns a frozen result with ``to_json()``, and
raises an :class:`EnvcapsuleError` (with ``code``, ``detail`` and ``advice``) for anything a
user can cause or meet. Names load on first use (PEP 562), so ``%load_ext envcapsule`` stays light.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from envcapsule._version import __version__

if TYPE_CHECKING:
    from envcapsule.api import (
        ContextResult,
        DoctorReport,
        PushResult,
        Running,
        Stopped,
        build,
        diff,
        doctor,
        export,
        import_archive,
        inspect,
        launch,
        ps,
        push,
        sbom,
        share,
        share_ci,
        snapshot,
        status,
        stop,
        verify,
        write_context,
    )
    from envcapsule.drift import Drift
    from envcapsule.errors import (
        ArchiveError,
        BaseImageError,
        BuildError,
        CapsuleError,
        ConfigError,
        ContainerError,
        EngineError,
        EnvcapsuleError,
        GpuError,
        LaunchError,
        LockError,
        NotebookError,
        RegistryError,
        SbomError,
        ShareError,
        UsageError,
        VerifyError,
    )
    from envcapsule.image.build import BuildResult
    from envcapsule.progress import Progress
    from envcapsule.run.launched import Launched
    from envcapsule.sbom import SbomResult
    from envcapsule.share.archive import ArchiveExport
    from envcapsule.share.archive_import import ImportResult
    from envcapsule.share.binder_share import ShareResult
    from envcapsule.share.ci import CiWorkflow
    from envcapsule.snapshot import SnapshotResult
    from envcapsule.status import CapsuleStatus
    from envcapsule.verify.report import VerifyReport

_WORKFLOWS = (
    "build",
    "diff",
    "doctor",
    "export",
    "import_archive",
    "inspect",
    "launch",
    "ps",
    "push",
    "sbom",
    "share",
    "share_ci",
    "snapshot",
    "status",
    "stop",
    "verify",
    "write_context",
)
_ERRORS = (
    "ArchiveError",
    "BaseImageError",
    "BuildError",
    "CapsuleError",
    "ConfigError",
    "ContainerError",
    "EngineError",
    "EnvcapsuleError",
    "GpuError",
    "LaunchError",
    "LockError",
    "NotebookError",
    "RegistryError",
    "SbomError",
    "ShareError",
    "UsageError",
    "VerifyError",
)
_LAZY: dict[str, str] = {
    **{name: "envcapsule.api" for name in _WORKFLOWS},
    **{name: "envcapsule.api" for name in ("ContextResult", "DoctorReport", "PushResult", "Running", "Stopped")},
    **{name: "envcapsule.errors" for name in _ERRORS},
    "ArchiveExport": "envcapsule.share.archive",
    "BuildResult": "envcapsule.image.build",
    "CapsuleStatus": "envcapsule.status",
    "Drift": "envcapsule.drift",
    "ImportResult": "envcapsule.share.archive_import",
    "Launched": "envcapsule.run.launched",
    "Progress": "envcapsule.progress",
    "SbomResult": "envcapsule.sbom",
    "ShareResult": "envcapsule.share.binder_share",
    "CiWorkflow": "envcapsule.share.ci",
    "SnapshotResult": "envcapsule.snapshot",
    "VerifyReport": "envcapsule.verify.report",
}

__all__ = [
    "__version__",
    "ArchiveError",
    "ArchiveExport",
    "BaseImageError",
    "BuildError",
    "BuildResult",
    "CiWorkflow",
    "CapsuleError",
    "CapsuleStatus",
    "ConfigError",
    "ContainerError",
    "ContextResult",
    "DoctorReport",
    "Drift",
    "EngineError",
    "EnvcapsuleError",
    "GpuError",
    "ImportResult",
    "LaunchError",
    "Launched",
    "LockError",
    "NotebookError",
    "Progress",
    "PushResult",
    "RegistryError",
    "Running",
    "SbomError",
    "SbomResult",
    "ShareError",
    "ShareResult",
    "SnapshotResult",
    "Stopped",
    "UsageError",
    "VerifyError",
    "VerifyReport",
    "build",
    "diff",
    "doctor",
    "export",
    "import_archive",
    "inspect",
    "launch",
    "ps",
    "push",
    "sbom",
    "share",
    "share_ci",
    "snapshot",
    "status",
    "stop",
    "verify",
    "write_context",
]


class _Package(types.ModuleType):
    """The package object: a submodule named like a workflow (``envcapsule.snapshot``) never hides the workflow.

    Importing ``envcapsule.snapshot`` binds the module as an attribute of its package; here that
    binding is skipped for workflow names, so ``envcapsule.snapshot(...)`` is always the function
    (the module stays importable by its full name, through ``sys.modules``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _WORKFLOWS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'envcapsule' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


sys.modules[__name__].__class__ = _Package


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext envcapsule` registers the %envcapsule magic, and imports nothing heavy."""
    from envcapsule.magic import load_ipython_extension as load

    load(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "@envcapsule/labextension"}]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """The Jupyter server extension lives in envcapsule.server; importing it here would make %load_ext heavy."""
    from envcapsule.server import _jupyter_server_extension_points as points

    return points()
