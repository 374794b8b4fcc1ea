"""The conda part of a capsule: its lockfiles, their manifest records and the ``[conda]`` section."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from envcapsule.conda.lockfile import CONDA_LOCK, ENVIRONMENT_YML, build_conda_lock, explicit_name
from envcapsule.facts import EnvironmentFacts
from envcapsule.lock.entries import LockEntry


@dataclass(frozen=True)
class CondaCapsuleFiles:
    lockfiles: tuple[dict[str, str], ...]  # manifest records: path, format, sha256
    section: dict[str, Any]  # capsule.toml's [conda]
    warnings: tuple[dict[str, str], ...]  # capsule.toml warnings: package, message


def write_conda_files(writer: Any, facts: EnvironmentFacts, entries: Sequence[LockEntry], source: str) -> CondaCapsuleFiles:
    """Write conda-lock.yml, conda-<platform>.lock and environment.yml into the capsule being staged."""
    files = build_conda_lock(facts, entries, source)
    explicit = explicit_name(files.platform)
    lockfiles = (
        {"path": CONDA_LOCK, "format": "conda-lock", "sha256": writer.write_text(CONDA_LOCK, files.unified)},
        {"path": explicit, "format": "conda-explicit", "sha256": writer.write_text(explicit, files.explicit)},
        {"path": ENVIRONMENT_YML, "format": "conda-environment", "sha256": writer.write_text(ENVIRONMENT_YML, files.environment)},
    )
    section = {
        "platform": files.platform,
        "channels": list(files.channels),
        "packages": files.locked,
        "lockfile": CONDA_LOCK,
        "explicit": explicit,
    }
    warnings = tuple({"package": package, "message": message} for package, message in files.warnings)
    return CondaCapsuleFiles(lockfiles, section, warnings)
