"""pylock.toml (PEP 751, lock-version 1.0), built and validated with ``packaging.pylock``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import tomli_w
from packaging.markers import Marker
from packaging.pylock import (
    Package,
    PackageArchive,
    PackageSdist,
    PackageVcs,
    PackageWheel,
    Pylock,
    PylockValidationError,
)
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envcapsule.errors import CapsuleError
from envcapsule.facts import EnvironmentFacts
from envcapsule.lock.entries import LockEntry
from envcapsule.lock.redact import redact_text, redact_url
from envcapsule.lock.targets import TargetFile, TargetLock


def build_pylock(
    facts: EnvironmentFacts,
    entries: Sequence[LockEntry],
    tool: dict[str, Any] | None = None,
    targets: Sequence[TargetLock] = (),
) -> Pylock:
    """The lock of every locked entry; unresolved entries are listed under ``[tool.envcapsule]``.

    Each package holds its captured file and, after it, each target's file of the same version;
    a package that some target leaves out, or that only targets need, carries a ``marker`` naming
    the environments it is installed in.
    """
    resolved = [t for t in targets if not t.exact and t.error is None]
    packages = [_package(entry, resolved, facts) for entry in entries if entry.is_locked]
    packages += _added_packages(resolved)
    unresolved = [
        {"name": e.name, "version": e.version, "reason": redact_text(e.reason or "")} for e in entries if not e.is_locked
    ]
    envcapsule_tool: dict[str, Any] = dict(tool or {})
    if unresolved:
        envcapsule_tool["unresolved"] = unresolved
    environments = list(dict.fromkeys([_environment_marker(facts), *(t.target.marker() for t in resolved)]))
    lock = Pylock(
        lock_version=Version("1.0"),
        environments=[Marker(m) for m in environments],
        requires_python=SpecifierSet(f"=={facts.interpreter.minor_version}.*"),
        created_by="envcapsule",
        packages=packages,
        tool={"envcapsule": envcapsule_tool} if envcapsule_tool else None,
    )
    try:
        lock.validate()
    except PylockValidationError as error:  # a bug in envcapsule, never the user's input
        raise CapsuleError(f"envcapsule produced an invalid pylock.toml ({error}); please report this.") from None
    return lock


def _target_wheels(entry: LockEntry, targets: Sequence[TargetLock]) -> list[PackageWheel]:
    """Each target's own wheel of the entry's version, once per file, after the captured one."""
    seen = {entry.sha256}
    wheels = []
    for target in targets:
        file = target.files.get(entry.name)
        if file is not None and file.sha256 not in seen:
            seen.add(file.sha256)
            wheels.append(_wheel(file))
    return wheels


def _wheel(file: TargetFile) -> PackageWheel:
    upload = None
    if file.upload_time:
        try:
            upload = datetime.fromisoformat(file.upload_time.replace("Z", "+00:00"))
        except ValueError:
            upload = None
    return PackageWheel(
        url=redact_url(file.url) if file.url else None, size=file.size, upload_time=upload, hashes={"sha256": file.sha256}
    )


def _presence_marker(facts: EnvironmentFacts, name: str, targets: Sequence[TargetLock]) -> Marker | None:
    """None when every environment installs ``name``; else the marker of those that do (the capture's and the targets')."""
    text = presence_marker(_environment_marker(facts), name, targets)
    return Marker(text) if text else None


def presence_marker(capture_marker: str, name: str, targets: Sequence[TargetLock]) -> str | None:
    """The marker text of the environments that install ``name``, None when all of them do."""
    if not any(name in t.dropped for t in targets):
        return None
    keeping = [capture_marker, *(t.target.marker() for t in targets if name not in t.dropped)]
    return " or ".join(f"({m})" for m in dict.fromkeys(keeping))


def environment_marker(facts: EnvironmentFacts) -> str:
    return _environment_marker(facts)


def _added_packages(targets: Sequence[TargetLock]) -> list[Package]:
    """The distributions only targets need: one package per name and version, its marker naming those targets."""
    grouped: dict[tuple[str, str], list[TargetLock]] = {}
    for target in targets:
        for name in target.added:
            grouped.setdefault((name, target.files[name].version), []).append(target)
    packages = []
    for (name, version), where in sorted(grouped.items()):
        wheels: list[PackageWheel] = []
        seen: set[str] = set()
        for target in where:
            file = target.files[name]
            if file.sha256 not in seen:
                seen.add(file.sha256)
                wheels.append(_wheel(file))
        marker = Marker(" or ".join(f"({t.target.marker()})" for t in where))
        index = where[0].files[name].index
        packages.append(
            Package(
                name=canonicalize_name(name),
                version=Version(version),
                marker=marker,
                index=redact_url(index) if index else None,
                wheels=wheels,
            )
        )
    return packages


def render_pylock(lock: Pylock) -> str:
    return tomli_w.dumps(dict(lock.to_dict()))


def _environment_marker(facts: EnvironmentFacts) -> str:
    env = facts.marker_environment()
    return (
        f"sys_platform == '{env['sys_platform']}' and platform_machine == '{env['platform_machine']}'"
        f" and implementation_name == '{env['implementation_name']}'"
    )


def _hashes(entry: LockEntry) -> dict[str, str]:
    return {"sha256": entry.sha256} if entry.sha256 else {}


def _upload_time(entry: LockEntry) -> datetime | None:
    if not entry.upload_time:
        return None
    try:
        return datetime.fromisoformat(entry.upload_time.replace("Z", "+00:00"))
    except ValueError:
        return None


def _package(entry: LockEntry, targets: Sequence[TargetLock] = (), facts: EnvironmentFacts | None = None) -> Package:
    common: dict[str, Any] = {"name": canonicalize_name(entry.name), "version": Version(entry.version)}
    if facts is not None:
        common["marker"] = _presence_marker(facts, entry.name, targets)
    url = redact_url(entry.url, keep_user="git" if entry.kind == "vcs" else None) if entry.url else None
    index = redact_url(entry.index) if entry.index else None
    extra = _target_wheels(entry, targets)
    if entry.kind == "wheel":
        wheel = PackageWheel(url=url, size=entry.size, upload_time=_upload_time(entry), hashes=_hashes(entry))
        return Package(**common, index=index, wheels=[wheel, *extra])
    if entry.kind == "sdist":
        sdist = PackageSdist(url=url, size=entry.size, upload_time=_upload_time(entry), hashes=_hashes(entry))
        # The wheel built from it on this machine travels in the capsule, so an image needs no build tools.
        built = entry.built
        tool = {"envcapsule": {"wheel": built.path, "sha256": built.sha256, "size": built.size}} if built else None
        return Package(**common, index=index, sdist=sdist, wheels=extra or None, tool=tool)
    if entry.kind == "vendored":
        vendored = PackageWheel(path=entry.vendored_path, size=entry.size, hashes=_hashes(entry))
        return Package(**common, wheels=[vendored, *extra])
    if entry.kind == "vcs":
        vcs = PackageVcs(
            type=entry.vcs or "git",
            url=url,
            commit_id=entry.commit or "",
            requested_revision=entry.requested_revision,
            subdirectory=entry.subdirectory,
        )
        # The wheel built from that commit travels in the capsule, so an image needs no clone.
        from_commit = {"wheel": entry.vendored_path, "sha256": entry.sha256, "size": entry.size} if entry.vendored_path else None
        return Package(**common, vcs=vcs, tool={"envcapsule": from_commit} if from_commit else None)
    if entry.kind == "archive":
        return Package(**common, archive=PackageArchive(url=url, hashes=_hashes(entry)))
    raise ValueError(f"cannot write {entry.kind} entries to pylock.toml")


def read_pylock(text: str, origin: str = "pylock.toml") -> Pylock:
    """Parse and validate a pylock.toml, with one sentence when it is damaged."""
    from envcapsule import _toml as tomllib

    try:
        return Pylock.from_dict(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, PylockValidationError) as error:
        raise CapsuleError(f"{origin} is not a valid PEP 751 lock ({error}); snapshot again to rewrite it.") from None
