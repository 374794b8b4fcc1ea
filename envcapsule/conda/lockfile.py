"""conda-lock.yml (conda-lock's unified format, version 1), written and read with conda-lock's own models.

One ``manager: conda`` entry per conda-meta record (url, md5 and sha256 as recorded,
dependencies from ``depends``) and one ``manager: pip`` entry per locked pip distribution;
metadata with channels, platforms, ``sources`` and ``content_hash``, so that
``conda-lock install`` and ``micromamba create -f conda-lock.yml`` accept it. Beside it go
the explicit ``conda-<platform>.lock`` (``@EXPLICIT``, ``url#md5``) and ``environment.yml``,
the pinned spec that ``sources`` names. Nothing here holds a credential: the probe already
turned channel tokens into ``${VAR}`` references, and they are written as such.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement

from envcapsule.conda.channels import channels_of, conda_platform
from envcapsule.errors import CapsuleError
from envcapsule.facts import CondaRecord, EnvironmentFacts, normalize_name
from envcapsule.lock.entries import LockEntry

CONDA_LOCK = "conda-lock.yml"
ENVIRONMENT_YML = "environment.yml"


def explicit_name(platform: str) -> str:
    return f"conda-{platform}.lock"


@dataclass(frozen=True)
class CondaLockFiles:
    """The texts of the conda lockfiles and what could not be locked, one sentence per package."""

    platform: str
    channels: tuple[str, ...]
    unified: str
    explicit: str
    environment: str
    locked: int
    warnings: tuple[tuple[str, str], ...]  # (package, sentence)


def conda_lock_modules() -> dict[str, ModuleType]:
    """conda-lock's lockfile models, imported quietly (its vendored conda warns about its own imports)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            import conda_lock.content_hash as content_hash  # type: ignore[import-untyped]
            import conda_lock.interfaces.vendored_conda as vendored_conda  # type: ignore[import-untyped]
            import conda_lock.lockfile as lockfile  # type: ignore[import-untyped]
            import conda_lock.lockfile.v2prelim.models as models  # type: ignore[import-untyped]
            import conda_lock.models.lock_spec as lock_spec  # type: ignore[import-untyped]
    except ImportError:
        raise CapsuleError(
            "Locking or building a conda environment needs conda-lock and py-rattler; "
            "install them with `pip install 'envcapsule[conda]'` and run again."
        ) from None
    return {
        "content_hash": content_hash,
        "lockfile": lockfile,
        "models": models,
        "lock_spec": lock_spec,
        "vendored_conda": vendored_conda,
    }


def record_problem(record: CondaRecord) -> str | None:
    """Why a record cannot be locked exactly, or None."""
    if not record.url:
        return (
            f"The conda package {record.label} has no download URL in its conda-meta record, so the capsule cannot lock it "
            "and the image leaves it out; reinstall it from a channel and snapshot again."
        )
    if not record.md5:
        return (
            f"The conda package {record.label} has no md5 in its conda-meta record (conda-lock.yml requires one), so the "
            "capsule cannot lock it and the image leaves it out; reinstall it from a channel and snapshot again."
        )
    return None


def build_conda_lock(facts: EnvironmentFacts, pip_entries: Sequence[LockEntry], source: str) -> CondaLockFiles:
    """The conda lockfiles of a captured conda environment and its locked pip distributions."""
    modules = conda_lock_modules()
    models = modules["models"]
    platform = conda_platform(facts)
    problems = [(r.name, record_problem(r)) for r in facts.conda_records]
    records = [r for r, (_, problem) in zip(facts.conda_records, problems) if problem is None]
    channels = channels_of(records)
    packages: list[Any] = [_conda_package(models, record, platform) for record in records]
    pip_warnings: list[tuple[str, str]] = []
    for entry in pip_entries:
        package = _pip_package(models, entry, platform, facts)
        if package is not None:
            packages.append(package)
        elif entry.is_locked:
            pip_warnings.append(
                (
                    entry.name,
                    f"{entry.name} is a wheel built into the capsule's vendor/ folder, which conda-lock.yml cannot name; "
                    "the image and requirements.txt still install it from the capsule.",
                )
            )
    content_hash = _content_hash(modules, records, pip_entries, channels, platform)
    lock = models.Lockfile(
        package=packages,
        metadata=models.LockMeta(
            content_hash={platform: content_hash},
            channels=channels,
            platforms=[platform],
            sources=[ENVIRONMENT_YML],
        ),
    )
    return CondaLockFiles(
        platform=platform,
        channels=tuple(channels),
        unified=_render_unified(modules, lock),
        explicit=_render_explicit(models, lock, platform, content_hash, source),
        environment=_render_environment(records, pip_entries, channels, source),
        locked=len(records),
        warnings=tuple([(name, problem) for name, problem in problems if problem] + pip_warnings),
    )


def conda_dependencies(depends: Sequence[str]) -> dict[str, str]:
    """``depends`` as conda-lock records them: name -> merged version spec (build parts dropped, as conda-lock does)."""
    MatchSpec = conda_lock_modules()["vendored_conda"].MatchSpec

    specs: dict[str, list[Any]] = {}
    for spec in depends:
        try:
            match = MatchSpec(spec)
        except Exception:  # noqa: BLE001 - conda's MatchSpec raises its own error types
            continue
        specs.setdefault(match.name, []).append(match)
    dependencies = {}
    for name, matches in specs.items():
        merged = matches[0] if len(matches) == 1 else MatchSpec.merge(matches)[0]
        dependencies[name] = merged.version.spec_str if merged.version is not None else ""
    return dependencies


def _conda_package(models: ModuleType, record: CondaRecord, platform: str) -> Any:
    return models.LockedDependency(
        name=record.name,
        version=record.version,
        manager="conda",
        platform=platform,
        dependencies=conda_dependencies(record.depends),
        url=record.url,
        hash=models.HashModel(md5=record.md5, sha256=record.sha256),
        categories={"main"},
        build=record.build,
    )


def _pip_package(models: ModuleType, entry: LockEntry, platform: str, facts: EnvironmentFacts) -> Any | None:
    if entry.kind in ("wheel", "sdist", "archive") and entry.url:
        url, source = entry.url, None
    elif entry.kind == "vcs" and entry.url and entry.commit:
        url = f"{entry.vcs or 'git'}+{entry.url}@{entry.commit}"
        source = models.DependencySource(type="url", url=url)
    else:
        return None
    return models.LockedDependency(
        name=entry.name,
        version=entry.version,
        manager="pip",
        platform=platform,
        dependencies=_pip_dependencies(entry, facts),
        url=url,
        hash=models.HashModel(sha256=entry.sha256),
        categories={"main"},
        source=source,
    )


def _pip_dependencies(entry: LockEntry, facts: EnvironmentFacts) -> dict[str, str]:
    env = {**facts.marker_environment(), "extra": ""}
    dependencies: dict[str, str] = {}
    for line in entry.distribution.requires_dist:
        try:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate(env):
                continue
        except (InvalidRequirement, InvalidMarker):
            continue
        dependencies[normalize_name(requirement.name)] = str(requirement.specifier) or "*"
    return dependencies


def _content_hash(
    modules: dict[str, ModuleType],
    records: Sequence[CondaRecord],
    pip_entries: Sequence[LockEntry],
    channels: Sequence[str],
    platform: str,
) -> str:
    """conda-lock's own content hash of the pinned spec (environment.yml) this lock satisfies."""
    spec = modules["lock_spec"]
    dependencies = [spec.VersionedDependency(name=r.name, version=r.version, build=r.build) for r in records]
    dependencies += [
        spec.VersionedDependency(name=e.name, version=f"=={e.version}", manager="pip") for e in pip_entries if e.is_locked
    ]
    lock_spec = spec.LockSpecification(
        dependencies={platform: dependencies}, channels=list(channels), sources=[Path(ENVIRONMENT_YML)]
    )
    return str(modules["content_hash"].compute_content_hashes(lock_spec, None)[platform])


def _render_unified(modules: dict[str, ModuleType], lock: Any) -> str:
    """The text conda-lock itself writes for this lock (its help header, then the YAML)."""
    with tempfile.TemporaryDirectory(prefix="envcapsule-conda-lock-") as scratch:
        path = Path(scratch) / CONDA_LOCK
        modules["lockfile"].write_conda_lock_file(lock.model_copy(deep=True), path, metadata_choices=None)
        return path.read_text(encoding="utf-8")


def _render_explicit(models: ModuleType, lock: Any, platform: str, content_hash: str, source: str) -> str:
    """``@EXPLICIT`` with one ``url#md5`` line per conda package in install order, pip packages as ``# pip`` lines."""
    ordered = models.Lockfile._toposort([p for p in lock.package if p.platform == platform])
    lines = [
        f"# Generated by envcapsule from the conda environment of {source}.",
        f"# platform: {platform}",
        f"# input_hash: {content_hash}",
        "@EXPLICIT",
    ]
    lines += [f"{p.url}#{p.hash.md5}" for p in ordered if p.manager == "conda"]
    for package in (p for p in ordered if p.manager == "pip"):
        if package.source is not None:
            lines.append(f"# pip {package.name} @ {package.source.url}")
        else:
            lines.append(
                f"# pip {package.name} @ {package.url}" + (f"#sha256={package.hash.sha256}" if package.hash.sha256 else "")
            )
    return "\n".join(lines) + "\n"


def _render_environment(
    records: Sequence[CondaRecord], pip_entries: Sequence[LockEntry], channels: Sequence[str], source: str
) -> str:
    lines = [
        f"# The conda environment of {source}, every package pinned to its exact build; conda-lock.yml locks it.",
        "channels:",
        *(f"  - {channel}" for channel in channels),
        "dependencies:",
        *(f"  - {r.name}={r.version}={r.build}" for r in records),
    ]
    pinned = [e for e in pip_entries if e.is_locked]
    if pinned:
        lines += ["  - pip:", *(f"      - {e.name}=={e.version}" for e in pinned)]
    return "\n".join(lines) + "\n"
