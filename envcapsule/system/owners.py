"""Which host package owns a file: dpkg on Debian and Ubuntu, rpm on Fedora-like hosts, none elsewhere.

One query per host for all paths (``dpkg-query -S``, ``rpm -qf``), then one for the versions,
so the cost does not grow with the number of libraries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from envcapsule.atomic import atomic_writer

Runner = Callable[[Sequence[str]], str]

_TIMEOUT = 60


@dataclass(frozen=True)
class HostPackage:
    name: str
    version: str
    architecture: str
    manager: str  # dpkg or rpm

    def to_record(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "architecture": self.architecture}


def run_command(argv: Sequence[str]) -> str:
    """stdout of a query; a query that finds nothing for some paths still says what it found for the others."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout


def package_manager(root: str = "/") -> str | None:
    """``dpkg`` or ``rpm`` when this host has one with a database, else None (macOS, Windows, Alpine, a bare container)."""
    if shutil.which("dpkg-query") and os.path.isdir(os.path.join(root, "var/lib/dpkg/info")):
        return "dpkg"
    if shutil.which("rpm") and os.path.isdir(os.path.join(root, "var/lib/rpm")):
        return "rpm"
    return None


def path_forms(path: str) -> list[str]:
    """The names a package database may know a file by: as given, resolved, and across a merged /usr (/lib = /usr/lib)."""
    forms = [path, os.path.realpath(path)]
    for form in list(forms):
        for short, merged in (
            ("/lib/", "/usr/lib/"),
            ("/lib64/", "/usr/lib64/"),
            ("/bin/", "/usr/bin/"),
            ("/sbin/", "/usr/sbin/"),
        ):
            if form.startswith(short):
                forms.append(merged + form[len(short) :])
            elif form.startswith(merged):
                forms.append(short + form[len(merged) :])
    return list(dict.fromkeys(forms))


def dpkg_owners(paths: Iterable[str], run: Runner = run_command) -> dict[str, str]:
    """path -> the dpkg package (``name:arch`` as dpkg says it) that owns it; paths no package owns are left out."""
    wanted = {form: path for path in paths for form in path_forms(path)}
    if not wanted:
        return {}
    owners: dict[str, str] = {}
    for line in run(["dpkg-query", "-S", *sorted(wanted)]).splitlines():
        packages, sep, owned = line.partition(": ")
        owned = owned.strip()
        if not sep or owned not in wanted or packages.startswith("diversion "):
            continue
        # "libgl1:amd64: /usr/lib/x86_64-linux-gnu/libGL.so.1"; a file in several packages names them all, comma separated
        owners.setdefault(wanted[owned], packages.split(",")[0].strip())
    return owners


def dpkg_versions(packages: Iterable[str], run: Runner = run_command) -> dict[str, HostPackage]:
    """``name:arch`` (or ``name``) -> its installed version and architecture."""
    names = sorted(set(packages))
    if not names:
        return {}
    output = run(["dpkg-query", "-W", "-f=${binary:Package}\\t${Package}\\t${Version}\\t${Architecture}\\n", *names])
    found: dict[str, HostPackage] = {}
    for line in output.splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[2]:
            qualified, name, version, architecture = parts
            package = HostPackage(name, version, architecture, "dpkg")
            found[qualified] = package
            found.setdefault(name, package)
    return found


def rpm_owners(paths: Iterable[str], run: Runner = run_command) -> dict[str, HostPackage]:
    """path -> the rpm package that owns it, with its version-release and architecture."""
    ordered = sorted(set(paths))
    if not ordered:
        return {}
    output = run(["rpm", "-qf", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n", *ordered])
    found: dict[str, HostPackage] = {}
    # rpm answers one line per path, in order; "file ... is not owned by any package" for the others
    for path, line in zip(ordered, output.splitlines()):
        parts = line.split("\t")
        if len(parts) == 3:
            found[path] = HostPackage(parts[0], parts[1], parts[2], "rpm")
    return found


def owners_of(
    paths: Iterable[str], manager: str | None, run: Runner = run_command, cache: OwnerCache | None = None
) -> dict[str, HostPackage]:
    """path -> owning package with its version, by whichever package manager this host has.

    With a ``cache`` dpkg is asked only about paths it has not answered since its database last changed.
    """
    paths = list(dict.fromkeys(paths))
    if manager == "dpkg":
        known = cache.answers() if cache is not None else {}
        asked = [path for path in paths if path not in known]
        owners = dpkg_owners(asked, run)
        versions = dpkg_versions(owners.values(), run)
        found = {path: versions.get(owner) for path, owner in owners.items()}
        if cache is not None:
            cache.remember({path: found.get(path) for path in asked})
        every = {**known, **{path: found.get(path) for path in asked}}
        return {path: package for path in paths if (package := every.get(path)) is not None}
    if manager == "rpm":
        return rpm_owners(paths, run)
    return {}


class OwnerCache:
    """dpkg's answers, kept on disk for as long as its database (``/var/lib/dpkg/status``) stays as it was."""

    def __init__(self, file: Path, status: Path = Path("/var/lib/dpkg/status")) -> None:
        self.file = file
        try:
            stat = status.stat()
            self.key: list[int] | None = [stat.st_mtime_ns, stat.st_size]
        except OSError:
            self.key = None
        self._answers: dict[str, HostPackage | None] | None = None

    def answers(self) -> dict[str, HostPackage | None]:
        if self._answers is None:
            self._answers = {}
            try:
                data = json.loads(self.file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None
            if isinstance(data, dict) and self.key is not None and data.get("status") == self.key:
                for path, value in (data.get("owners") or {}).items():
                    self._answers[path] = (
                        HostPackage(str(value[0]), str(value[1]), str(value[2]), "dpkg")
                        if isinstance(value, list) and len(value) == 3
                        else None
                    )
        return self._answers

    def remember(self, found: Mapping[str, HostPackage | None]) -> None:
        if not found or self.key is None:
            return
        answers = {**self.answers(), **found}
        self._answers = answers
        owners = {path: [p.name, p.version, p.architecture] if p else None for path, p in answers.items()}
        try:
            with atomic_writer(self.file, "w", encoding="utf-8") as stream:
                stream.write(json.dumps({"status": self.key, "owners": owners}, separators=(",", ":")))
        except OSError:
            pass  # a cache that cannot be written only makes the next look-up slower
