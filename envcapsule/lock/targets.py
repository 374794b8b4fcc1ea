"""Locking for target platforms: for every captured distribution, at its captured version, the file a target installs.

The capture's own platform is exact as it is. For another Linux platform whose markers select
the same distributions (a Linux capture, built for the other CPU), each file that does not fit
is replaced by the index's wheel of the same version that the target's installer would pick.
Where markers differ (a capture on macOS or Windows), uv resolves the environment for the
target (``uv pip compile --python-platform``) with every captured version as a constraint: what
the target needs and the capture lacked is *added*, what only the capture's platform needs is
*dropped*, and each is named.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcapsule.capture.footprint import parsed_requirement
from envcapsule.facts import EnvironmentFacts, PipConfig
from envcapsule.lock.entries import LockEntry
from envcapsule.platforms import Target, best_wheel, platform_of
from envcapsule.progress import NullProgress, Progress

UV_TIMEOUT = 600


def _from_index(entry: LockEntry) -> bool:
    """Installed from an index (a wheel or sdist there, or a copy of one from a local folder): the index has its other files."""
    return entry.is_locked and entry.distribution.source_kind == "index"


def _built_here(entry: LockEntry) -> str:
    return (
        f"{entry.name}=={entry.version} was installed from a {entry.distribution.source_kind} source, "
        "and its wheel was built for the capturing platform"
    )


@dataclass(frozen=True)
class TargetFile:
    """The file a target installs for one distribution (a wheel, or only an sdist when it has none)."""

    name: str
    version: str
    kind: str  # wheel | sdist
    url: str | None
    sha256: str
    size: int | None = None
    upload_time: str | None = None
    index: str | None = None

    @property
    def filename(self) -> str:
        from urllib.parse import unquote

        return unquote((self.url or "").rsplit("/", 1)[-1].split("#", 1)[0].split("?", 1)[0])


@dataclass(frozen=True)
class TargetLock:
    """What one target platform installs, and how it differs from the capture."""

    target: Target
    exact: bool = False  # the capture's own platform: the captured files, as they are
    files: Mapping[str, TargetFile] = field(default_factory=dict)  # name -> the target's file, where it differs or is added
    added: tuple[str, ...] = ()  # names the target needs that the capture did not have
    dropped: tuple[str, ...] = ()  # captured names the target leaves out (their markers exclude it)
    missing: tuple[str, ...] = ()  # "name==version: why" for captured versions without a wheel for the target
    error: str | None = None  # the target could not be locked at all

    @property
    def platform(self) -> str:
        return self.target.platform

    def warnings(self) -> list[str]:
        """One sentence per thing the user should know, naming every package."""
        where = self.platform
        found = []
        if self.error:
            found.append(f"The capsule cannot build for {where}: {self.error}")
        if self.added:
            shown = ", ".join(f"{n}=={self.files[n].version}" for n in self.added)
            found.append(f"Added for {where} (needed there, not on the capturing platform): {shown}.")
        if self.dropped:
            found.append(f"Left out of {where} (their markers exclude it): {', '.join(self.dropped)}.")
        found += [f"No wheel for {where}: {item}." for item in self.missing]
        return found

    @property
    def strict_problems(self) -> list[str]:
        """What --strict refuses: a target that failed, or versions it has no wheel of."""
        return ([f"The capsule cannot build for {self.platform}: {self.error}"] if self.error else []) + [
            f"No wheel for {self.platform}: {item}." for item in self.missing
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "exact": self.exact,
            "glibc": ".".join(map(str, self.target.glibc)),
            "added": [{"name": n, "version": self.files[n].version} for n in self.added],
            "dropped": list(self.dropped),
            "missing": list(self.missing),
            "replaced": sorted(n for n in self.files if n not in self.added),
            "error": self.error,
        }


ProjectFilesLookup = Callable[[Sequence[str]], Mapping[str, Sequence[Any]]]
"""name -> the index files of that project (``IndexClient.many_project_files``), for the names given."""


def lock_targets(
    facts: EnvironmentFacts,
    entries: Sequence[LockEntry],
    targets: Sequence[Target],
    *,
    lookup: ProjectFilesLookup,
    config: PipConfig,
    offline: bool = False,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
) -> list[TargetLock]:
    """One TargetLock per target, in the order given; the targets that uv resolves are resolved concurrently."""
    from concurrent.futures import ThreadPoolExecutor

    progress = progress or NullProgress()
    captured = platform_of(facts.platform.os, facts.platform.machine)
    resolved = [t for t in targets if not (t.platform == captured and facts.platform.os == "linux") and markers_differ(facts, t)]
    if resolved:
        uv_binary()  # found before the threads start: sysconfig's first read is not thread-safe
        names = " and ".join(t.platform for t in resolved)
        progress.step(f"Resolving the environment for {names} (uv, with the captured versions as constraints)")
    with ThreadPoolExecutor(max_workers=max(1, len(resolved))) as pool:
        futures = {t.platform: pool.submit(_resolved, facts, entries, t, config, offline, cache_dir) for t in resolved}
        locks = []
        for target in targets:
            if target.platform in futures:
                locks.append(futures[target.platform].result())
            elif target.platform == captured and facts.platform.os == "linux":
                locks.append(TargetLock(target, exact=True))
            else:
                progress.step(f"Finding the files for {target.platform}")
                locks.append(_same_set(entries, target, lookup))
    return locks


def markers_differ(facts: EnvironmentFacts, target: Target) -> bool:
    """Whether some captured requirement's marker selects differently on the target than on the capturing platform."""
    from envcapsule.capture.footprint import requested_extras

    here, there = facts.marker_environment(), target.marker_environment()
    wanted = requested_extras(facts)
    for dist in facts.distributions:
        extras = ["", *sorted(wanted.get(dist.name, ()))]
        for line in dist.requires_dist:
            requirement = parsed_requirement(line)
            marker = requirement.marker if requirement is not None else None
            if marker is None:
                continue
            try:
                if any(marker.evaluate({**here, "extra": e}) != marker.evaluate({**there, "extra": e}) for e in extras):
                    return True
            except InvalidMarker:
                continue
    return False


def _fits(target: Target, entry: LockEntry) -> bool:
    """Whether the target installs the captured file itself (or the wheel the snapshot built from the captured sdist)."""
    names = [entry.filename or "", entry.built.path.rsplit("/", 1)[-1] if entry.built else ""]
    return best_wheel(target, [n for n in names if n]) is not None


def _same_set(entries: Sequence[LockEntry], target: Target, lookup: ProjectFilesLookup) -> TargetLock:
    """The captured distributions, each with the index's wheel of its version for the target where the captured one does not fit."""
    locked = [e for e in entries if e.is_locked]
    look_up = [e for e in locked if not _fits(target, e) and _from_index(e)]
    pages = lookup([e.name for e in look_up]) if look_up else {}
    files: dict[str, TargetFile] = {}
    missing: list[str] = []
    for entry in locked:
        if _fits(target, entry):
            continue
        if not _from_index(entry):
            missing.append(_built_here(entry))
            continue
        found, why = _index_file(target, entry.name, entry.version, pages.get(entry.name, ()))
        if found is not None:
            files[entry.name] = found
        else:
            missing.append(why)
    return TargetLock(target, files=files, missing=tuple(missing))


def _index_file(target: Target, name: str, version: str, files: Sequence[Any]) -> tuple[TargetFile | None, str]:
    same = [f for f in files if f.sha256 and _version_of(f.filename) == _parsed(version)]
    chosen = best_wheel(target, [f.filename for f in same])
    for file in same:
        if file.filename == chosen:
            return TargetFile(name, version, "wheel", file.url, file.sha256, file.size, file.upload_time, file.index), ""
    if any(not f.filename.endswith(".whl") for f in same):
        return None, f"{name}=={version} has only a source distribution for it, which the image cannot build without network"
    return None, f"{name}=={version} has no file that fits it on the indexes (no wheel for it and no sdist)"


def _parsed(version: str) -> Version | None:
    try:
        return Version(version)
    except InvalidVersion:
        return None


def _version_of(filename: str) -> Version | None:
    from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

    try:
        return parse_wheel_filename(filename)[1] if filename.endswith(".whl") else parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


# --- resolution with uv, for targets whose markers select other distributions --------------------------


def roots(facts: EnvironmentFacts, names: Sequence[str]) -> list[str]:
    """The distributions among ``names`` that no other one among them requires on the capturing platform.

    Requirements behind an extra do not count (the requirement that asks for the extra brings them),
    and whatever the roots do not reach (a cycle) is a root too, so nothing captured is lost.
    """
    from envcapsule.capture.footprint import closure, requirements_of

    keep = set(names)
    env = {**facts.marker_environment(), "extra": ""}
    required: set[str] = set()
    for dist in facts.distributions:
        if dist.name not in keep:
            continue
        for line in dist.requires_dist:
            requirement = parsed_requirement(line)
            if requirement is None:
                continue
            try:
                if requirement.marker is None or requirement.marker.evaluate(env):
                    required.add(canonicalize_name(requirement.name))
            except InvalidMarker:
                continue
    found = [name for name in names if name not in required]
    reached = closure(found, requirements_of(facts))
    return [*found, *(name for name in names if name not in reached and name not in found)]


def _resolved(
    facts: EnvironmentFacts,
    entries: Sequence[LockEntry],
    target: Target,
    config: PipConfig,
    offline: bool,
    cache_dir: Path | None = None,
) -> TargetLock:
    index_entries = [e for e in entries if _from_index(e)]
    if not index_entries:
        return TargetLock(target)
    versions = {e.name: e.version for e in index_entries}
    try:
        packages = resolve_with_uv(
            [f"{n}=={versions[n]}" for n in roots(facts, list(versions))],
            [f"{n}=={v}" for n, v in versions.items()],
            target,
            config,
            offline,
            cache_dir,
        )
    except ResolutionFailed as error:
        return TargetLock(target, error=str(error))
    by_name = {e.name: e for e in entries}
    files: dict[str, TargetFile] = {}
    added: list[str] = []
    missing: list[str] = []
    for name, package in packages.items():
        entry = by_name.get(name)
        if entry is not None and entry.is_locked and _fits(target, entry):
            continue
        wheel = _uv_file(target, package)
        if wheel is None:
            missing.append(f"{name}=={package['version']} has only a source distribution for it")
            continue
        files[name] = wheel
        if entry is None:
            added.append(name)
    dropped = [e.name for e in index_entries if e.name not in packages]
    for entry in entries:  # direct installs are not resolved: their captured file either fits or is missing
        if entry.is_locked and not _from_index(entry) and not _fits(target, entry):
            missing.append(_built_here(entry))
    return TargetLock(target, files=files, added=tuple(sorted(added)), dropped=tuple(sorted(dropped)), missing=tuple(missing))


def _uv_file(target: Target, package: Mapping[str, Any]) -> TargetFile | None:
    wheels = {w["filename"]: w for w in package["wheels"]}
    chosen = best_wheel(target, wheels)
    if chosen is None:
        return None
    wheel = wheels[chosen]
    return TargetFile(
        package["name"], package["version"], "wheel", wheel["url"], wheel["sha256"], wheel["size"], wheel["upload_time"]
    )


class ResolutionFailed(Exception):
    """uv found no resolution for the target (its last error lines are the message)."""


def resolve_with_uv(
    requirements: Sequence[str],
    constraints: Sequence[str],
    target: Target,
    config: PipConfig,
    offline: bool,
    cache_dir: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """name -> {name, version, wheels: [{filename, url, sha256, size, upload_time}]} for the target, from ``uv pip compile``.

    Index URLs, which may carry credentials, reach uv through its environment, never its arguments.
    With ``cache_dir`` a resolution is kept under the sha256 of everything it depends on: every
    version is pinned and released files never change, so the same inputs give the same answer.
    """
    import hashlib

    from envcapsule import _toml as tomllib
    from envcapsule.atomic import atomic_writer

    key = json.dumps([list(requirements), list(constraints), target.uv_platform(), target.python_version, _index_key(config)])
    cached = cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.toml" if cache_dir is not None else None
    try:
        output = cached.read_text(encoding="utf-8") if cached is not None else None
    except OSError:
        output = None
    if output is None:
        output = _uv_compile(requirements, constraints, target, config, offline)
        if cached is not None:
            try:
                with atomic_writer(cached, "w", encoding="utf-8") as stream:
                    stream.write(output)
            except OSError:
                pass  # a cache that cannot be written only costs speed
    lock = tomllib.loads(output)

    packages: dict[str, dict[str, Any]] = {}
    for package in lock.get("packages", []):
        wheels = []
        for wheel in package.get("wheels", []):
            url = str(wheel.get("url", ""))
            sha = (wheel.get("hashes") or {}).get("sha256")
            if url and sha:
                upload = wheel.get("upload-time")
                wheels.append(
                    {
                        "filename": url.rsplit("/", 1)[-1],
                        "url": url,
                        "sha256": sha,
                        "size": wheel.get("size"),
                        "upload_time": upload.isoformat().replace("+00:00", "Z") if upload is not None else None,
                    }
                )
        name = canonicalize_name(package["name"])
        packages[name] = {"name": name, "version": str(package["version"]), "wheels": wheels}
    return packages


def _index_key(config: PipConfig) -> str:
    """The indexes a resolution came from, as a digest: their URLs may carry credentials."""
    import hashlib

    where = json.dumps([list(config.index_urls), list(config.find_links), config.no_index])
    return hashlib.sha256(where.encode()).hexdigest()


@lru_cache(maxsize=1)
def uv_binary() -> str | None:
    from envcapsule.errors import PythonDistError
    from envcapsule.image.python_dist import find_uv

    try:
        return find_uv()
    except PythonDistError:
        return None


def _uv_compile(requirements: Sequence[str], constraints: Sequence[str], target: Target, config: PipConfig, offline: bool) -> str:
    """``uv pip compile`` for the target, as pylock.toml text; ResolutionFailed with uv's own reason."""
    uv = uv_binary()
    if uv is None:
        raise ResolutionFailed("uv, which resolves for other platforms, is not installed here (`pip install uv`)")
    with tempfile.TemporaryDirectory(prefix="envcapsule-target-") as scratch:
        folder = Path(scratch)
        (folder / "requirements.in").write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
        (folder / "constraints.txt").write_text("".join(f"{c}\n" for c in constraints), encoding="utf-8")
        command = [
            uv, "pip", "compile", "requirements.in", "--constraint", "constraints.txt",
            "--python-platform", target.uv_platform(), "--python-version", target.python_version,
            "--format", "pylock.toml", "--no-header", "--quiet", "--no-config", "--index-strategy", "unsafe-best-match",
        ]  # fmt: skip
        if offline:
            command.append("--offline")
        try:
            completed = subprocess.run(
                command, cwd=folder, env=_uv_environment(config), capture_output=True, text=True, timeout=UV_TIMEOUT
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ResolutionFailed(f"uv did not run ({error})") from None
    if completed.returncode != 0:
        raise ResolutionFailed(_uv_sentence(completed.stderr))
    return completed.stdout


def _uv_environment(config: PipConfig) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    if config.no_index:
        environ["UV_NO_INDEX"] = "1"
    elif config.index_urls:
        environ["UV_INDEX_URL"] = config.index_urls[0]
        if config.index_urls[1:]:
            environ["UV_EXTRA_INDEX_URL"] = " ".join(config.index_urls[1:])
    if config.find_links:
        environ["UV_FIND_LINKS"] = ",".join(config.find_links)
    if config.trusted_hosts:
        environ["UV_INSECURE_HOST"] = " ".join(config.trusted_hosts)
    if config.cert:
        environ["SSL_CERT_FILE"] = config.cert
    return environ


def _uv_sentence(stderr: str) -> str:
    from envcapsule.lock.redact import redact_text

    lines = [line.strip().removeprefix("×").strip() for line in stderr.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("hint:", "help:"))] or ["uv gave no reason"]
    text = " ".join(line.removeprefix("╰─▶").strip() for line in useful[-4:])
    return redact_text(text.rstrip(".") + ".")
