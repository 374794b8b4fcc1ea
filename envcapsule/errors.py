"""Every error a user can meet, in one hierarchy.

Each error has a stable ``code`` (the REST API returns it, so the sidebar can offer the
right button), a ``detail`` (what happened) and an ``advice`` (what to do). An advice may
name an option as ``{option:base_image}``; each front end words it its own way — the CLI
and the magic as a flag, the sidebar as the field or button that sets it — through
:func:`envcapsule.commands.render_advice`. ``str(error)`` is the CLI's sentence.

Older call sites pass one sentence that already says both; it is kept whole as ``detail``.
"""

from __future__ import annotations

from typing import ClassVar


class EnvcapsuleError(Exception):
    """Base class: ``str(error)`` is the sentence shown on the command line."""

    code: ClassVar[str] = "error"
    exit_code: ClassVar[int] = 1

    def __init__(self, detail: str, advice: str = "") -> None:
        self.detail = detail.rstrip()
        self.advice = advice.strip()
        super().__init__(self.detail)

    def __str__(self) -> str:
        return self.message("cli")

    def message(self, frontend: str = "cli") -> str:
        """One sentence, its advice worded for ``frontend`` (``cli``, ``magic`` or ``sidebar``)."""
        from envcapsule.commands import render_advice

        if not self.advice:
            return render_advice(self.detail, frontend)
        return render_advice(f"{self.detail.rstrip('.;')}; {self.advice.rstrip('.')}.", frontend)

    def to_json(self, frontend: str = "cli") -> dict[str, str]:
        from envcapsule.commands import render_advice

        return {
            "code": self.code,
            "error": self.message(frontend),
            "detail": render_advice(self.detail, frontend),
            "advice": render_advice(self.advice, frontend),
        }


class Interrupted(EnvcapsuleError):
    """The user pressed Ctrl-C; what was being written was left as it was."""

    code = "interrupted"
    exit_code = 130


class NotebookError(EnvcapsuleError):
    """The notebook is missing, unreadable or not a notebook."""

    code = "notebook"


class NotebookFilesError(EnvcapsuleError):
    """A file beside the notebook cannot travel: unreadable, changing while read, or a folder that must not be swept."""

    code = "notebook-files"


class InterpreterError(EnvcapsuleError):
    """The kernel's interpreter cannot be found or cannot run the probe."""

    code = "interpreter"


class LockError(EnvcapsuleError):
    """A distribution could not be locked exactly (raised only with --strict)."""

    code = "lock"


class IndexLookupError(EnvcapsuleError):
    """A package index or find-links location could not be read."""

    code = "index"


class CondaFetchError(EnvcapsuleError):
    """A conda package file could not be fetched, or is not the file that was locked."""

    code = "conda-fetch"


class CapsuleError(EnvcapsuleError):
    """A capsule folder is missing, damaged, edited by hand or cannot be written."""

    code = "capsule"


class ConfigError(EnvcapsuleError):
    """envcapsule's own configuration (config file, environment variables) is invalid."""

    code = "config"


class UsageError(EnvcapsuleError):
    """The arguments cannot work together (a flag that does not apply to the target, a missing choice)."""

    code = "usage"
    exit_code = 2


class EngineError(EnvcapsuleError):
    """No Docker engine can be reached: missing SDK, no engine, not running, no permission."""

    code = "engine"


class BaseImageError(EnvcapsuleError):
    """The base image is missing, unpullable or holds the wrong interpreter."""

    code = "base-image"


class PythonDistError(EnvcapsuleError):
    """No standalone CPython could be found or fetched for an image whose base has no Python."""

    code = "python-dist"


class BuildError(EnvcapsuleError):
    """The engine could not build the image."""

    code = "build"


class SystemPackagesError(BuildError):
    """The capsule's system packages cannot be fetched, checked or installed for its base image."""

    code = "system-packages"


class LaunchError(EnvcapsuleError):
    """The container could not be started, or Jupyter in it never answered."""

    code = "launch"


class ContainerError(EnvcapsuleError):
    """A container named for stopping does not exist or is not one of envcapsule's."""

    code = "container"


class GpuError(EnvcapsuleError):
    """The capsule needs CUDA, and this host or its engine cannot give the container a usable GPU."""

    code = "gpu"


class VerifyError(EnvcapsuleError):
    """The check itself could not run: no capsule, no nbval in the image, no report, a timeout."""

    code = "verify"


class VerifyTimeout(VerifyError):
    """The check ran past its total time limit; its container was stopped and removed."""

    code = "verify-timeout"


class SanitizerError(EnvcapsuleError):
    """A sanitizer file given with --sanitize cannot be read or holds a bad pattern."""

    code = "sanitizer"


class ShareError(EnvcapsuleError):
    """A binder/ export or a Binder link cannot be made (no git repository, no remote, a folder in the way)."""

    code = "share"


class RegistryError(EnvcapsuleError):
    """A registry refused a push or pull, or a reference is malformed."""

    code = "registry"


class ArchiveError(EnvcapsuleError):
    """An image archive is damaged, foreign, or would overwrite something different."""

    code = "archive"


class SbomError(EnvcapsuleError):
    """A capsule's SBOM did not validate against the CycloneDX schema, so it was not written."""

    code = "sbom"


__all__ = [
    "ArchiveError",
    "BaseImageError",
    "BuildError",
    "CapsuleError",
    "CondaFetchError",
    "ConfigError",
    "ContainerError",
    "EngineError",
    "EnvcapsuleError",
    "GpuError",
    "IndexLookupError",
    "InterpreterError",
    "Interrupted",
    "LaunchError",
    "LockError",
    "NotebookError",
    "NotebookFilesError",
    "PythonDistError",
    "RegistryError",
    "SanitizerError",
    "SbomError",
    "ShareError",
    "UsageError",
    "VerifyError",
    "VerifyTimeout",
]
