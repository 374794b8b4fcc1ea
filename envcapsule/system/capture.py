"""What a capsule needs from the operating system: the ``[system]`` table and ``apt.txt``.

Two kinds of system packages go in:

- the owners of the native libraries that the environment's extension modules and bundled
  libraries link against, beyond libc and what the wheels bundle (``libGL.so.1`` -> ``libgl1``);
- the owners of Python distributions that came from the distribution's own packages
  (``/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info`` -> ``python3-yaml``), when the
  notebook or a locked package reaches them. Those are never relocked from PyPI, unless
  asked (``python_packages = "pypi"``).

Only packages reached this way are recorded, so installing something unrelated on the host
leaves the capsule (and its hash) as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from envcapsule import grammar
from envcapsule.facts import Distribution, EnvironmentFacts
from envcapsule.system.elf import (
    LIBC_SONAMES,
    NeededLibrary,
    Resolver,
    host_resolver,
    is_shared_object,
    library_closure,
    system_libraries,
)
from envcapsule.system.owners import HostPackage, OwnerCache, Runner, owners_of, package_manager, run_command

PYTHON_MODES = ("system", "pypi")
HOST = "host"  # ask this host which package manager it has
_LIBC_PLUGINS = ("libnss_", "libnsl.", "libidn2.", "libresolv.")
APT_FILE = "apt.txt"
LIBRARY_FOLDER = "system/lib"
VENDOR_LIMIT = 8 * 1024 * 1024  # an unowned library up to this size travels in the capsule; a bigger one is a warning
_SHOWN = 8


@dataclass(frozen=True)
class SystemPackage:
    name: str
    version: str
    architecture: str
    provides: tuple[str, ...] = ()  # the libraries and Python distributions it was recorded for

    def to_record(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "architecture": self.architecture, "provides": list(self.provides)}


@dataclass(frozen=True)
class SystemCapture:
    manager: str | None
    packages: tuple[SystemPackage, ...] = ()
    python_mode: str = "system"
    python_distributions: tuple[str, ...] = ()  # distribution-owned Python distributions the kernel uses
    site_dirs: tuple[str, ...] = ()  # the distribution's site folders the kernel environment reads them from
    left_out: tuple[str, ...] = ()  # distribution-owned Python distributions nothing reaches
    unowned: tuple[NeededLibrary, ...] = ()  # needed libraries no package owns
    missing: tuple[NeededLibrary, ...] = ()  # needed libraries this host lacks too
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def carried(self) -> tuple[NeededLibrary, ...]:
        """Libraries no package owns that travel in the capsule (``system/lib/``) to the same path in the image."""
        return tuple(lib for lib in self.unowned if _carried(lib.path))

    def section(self) -> dict[str, Any] | None:
        """``[system]`` of capsule.toml; None when the capsule needs nothing from the operating system."""
        if not self.packages and not self.site_dirs and not self.carried:
            return None
        section: dict[str, Any] = {"manager": self.manager or "none", "python_packages": self.python_mode}
        if self.site_dirs:
            section["site_packages"] = list(self.site_dirs)
        if self.carried:
            section["libraries"] = sorted(str(lib.path) for lib in self.carried)
        section["packages"] = [p.to_record() for p in self.packages]
        return section

    def apt_txt(self) -> str | None:
        """The Binder convention: one package name per line (no versions, so another release can still install it)."""
        if self.manager != "dpkg" or not self.packages:
            return None
        return "".join(f"{p.name}\n" for p in self.packages)


def distribution_owned(
    facts: EnvironmentFacts, run: Runner = run_command, manager: str | None = HOST, cache: OwnerCache | None = None
) -> dict[str, HostPackage]:
    """Distribution name -> the host package that installed it, for every Python distribution outside the environment's prefix."""
    manager = package_manager() if manager == HOST else manager
    prefixes = tuple(os.path.join(os.path.realpath(p), "") for p in _env_prefixes(facts))
    outside = {
        d.metadata_dir: d.name
        for d in facts.distributions
        if d.metadata_dir and not d.conda and not os.path.realpath(d.metadata_dir).startswith(prefixes)
    }
    owned = owners_of(outside, manager, run, cache)
    return {outside[path]: package for path, package in owned.items()}


@dataclass(frozen=True)
class HostLibrary:
    library: NeededLibrary
    distribution: str  # the distribution whose files need it; "" for a live kernel's run-time load
    owner: HostPackage | None


@dataclass(frozen=True)
class HostSystem:
    """What the machine that runs the environment says it needs from the operating system, before anything is chosen.

    Collected where the environment lives (``snapshot``, ``inspect --json``); a snapshot from a
    facts file uses the copy the file carries, since only that machine can answer.
    """

    manager: str | None
    owned: Mapping[str, HostPackage] = field(default_factory=dict)  # distribution -> the system package that installed it
    libraries: tuple[HostLibrary, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "manager": self.manager,
            "owned": {name: _package_fields(package) for name, package in sorted(self.owned.items())},
            "libraries": [
                {
                    "soname": item.library.soname,
                    "path": item.library.path,
                    "needed_by": item.library.needed_by,
                    "distribution": item.distribution,
                    "owner": _package_fields(item.owner) if item.owner else None,
                }
                for item in self.libraries
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HostSystem:
        """From a facts file (another machine's): every name and version is checked; ValueError says which is not."""
        manager = data.get("manager")
        if manager not in (None, "dpkg", "rpm"):
            raise ValueError(f"its system.manager {str(manager)[:40]!r} is not dpkg, rpm or none")
        owned = {str(name): _package(value, f"system.owned.{name}", manager) for name, value in (data.get("owned") or {}).items()}
        libraries = []
        for index, item in enumerate(data.get("libraries") or []):
            owner = item.get("owner")
            library = NeededLibrary(str(item["soname"]), item.get("path"), str(item.get("needed_by", "")))
            package = _package(owner, f"system.libraries[{index}].owner", manager) if owner else None
            libraries.append(HostLibrary(library, str(item.get("distribution", "")), package))
        return cls(manager, owned, tuple(libraries))


def _package_fields(package: HostPackage) -> list[str]:
    return [package.name, package.version, package.architecture]


def _package(value: Any, where: str, manager: str | None) -> HostPackage:
    if not isinstance(value, list) or len(value) != 3 or not all(isinstance(v, str) for v in value):
        raise ValueError(f"its {where} is not [name, version, architecture]")
    name, version, architecture = value
    for what, text, pattern in (("name", name, grammar.PACKAGE_NAME), ("version", version, grammar.PACKAGE_VERSION)):
        if not pattern.fullmatch(text):
            raise ValueError(f"its {where} {what} {text[:60]!r} is not a system package {what}")
    if not grammar.WORD.fullmatch(architecture):
        raise ValueError(f"its {where} architecture {architecture[:40]!r} is not a word")
    return HostPackage(name, version, architecture, manager or "dpkg")


def host_system(
    facts: EnvironmentFacts,
    *,
    run: Runner = run_command,
    manager: str | None = HOST,
    resolver: Resolver | None = None,
    loaded: Sequence[str] = (),
    cache: OwnerCache | None = None,
) -> HostSystem:
    """Ask this host: which Python distributions its packages installed, and what every other one's ELF files need.

    ``manager`` is dpkg, rpm or None (no package database), by default whichever this host has.
    ``loaded`` are the libraries a live kernel has mapped (``/proc/self/maps``): those it opened at
    run time (``ctypes``, ``dlopen``) that neither the scan nor the interpreter itself accounts for
    are added.
    """
    manager = package_manager() if manager == HOST else manager
    resolver = resolver or host_resolver(facts.environment)
    owned = distribution_owned(facts, run, manager, cache) if facts.platform.os == "linux" else {}
    scanned = [d for d in facts.pip_distributions if d.name not in owned]
    inside = _env_prefixes(facts) + [d.location for d in scanned if d.location]
    needed: list[tuple[NeededLibrary, str]] = []
    for dist in scanned:
        needed += [(lib, dist.name) for lib in system_libraries(distribution_files(dist), inside, resolver)]
    needed += [(lib, "") for lib in _loaded_at_run_time(facts, loaded, inside, [lib for lib, _ in needed], resolver)]
    owners = owners_of({lib.path for lib, _ in needed if lib.path}, manager, run, cache)
    return HostSystem(manager, owned, tuple(HostLibrary(lib, dist, owners.get(lib.path or "")) for lib, dist in needed))


def capture_system(
    facts: EnvironmentFacts,
    host: HostSystem,
    locked: Sequence[Distribution],
    reached: Iterable[str],
    *,
    python_mode: str = "system",
) -> SystemCapture:
    """The system packages of a capture, from what the host said (``host_system``).

    ``locked`` are the distributions the pip lock holds: the libraries their files need count
    (and a live kernel's run-time loads); ``reached`` the names the notebook and the locked
    packages need, which decides which distribution-owned Python packages go in.
    """
    names = {d.name for d in locked}
    chosen: dict[str, HostLibrary] = {}
    for item in host.libraries:
        if (item.distribution in names or not item.distribution) and item.library.soname not in chosen:
            chosen[item.library.soname] = item
    found = [item for item in chosen.values() if item.library.path is not None]
    missing = tuple(item.library for item in chosen.values() if item.library.path is None)

    provides: dict[str, tuple[HostPackage, list[str]]] = {}
    for item in found:
        if item.owner is not None:
            provides.setdefault(item.owner.name, (item.owner, []))[1].append(item.library.soname)
    reached_set = set(reached)
    used_python = sorted(name for name in host.owned if name in reached_set)
    left_out = tuple(sorted(name for name in host.owned if name not in reached_set))
    site_dirs: list[str] = []
    if python_mode == "system":
        for name in used_python:
            owner = host.owned[name]
            provides.setdefault(owner.name, (owner, []))[1].append(f"python:{name}")
            dist = facts.distribution(name)
            location = os.path.normpath(dist.location) if dist and dist.location else ""
            if grammar.SYSTEM_SITE_DIR.fullmatch(location) and location not in site_dirs:
                site_dirs.append(location)
    packages = tuple(
        SystemPackage(owner.name, owner.version, owner.architecture, tuple(sorted(set(names))))
        for owner, names in (provides[key] for key in sorted(provides))
    )
    unowned = tuple(sorted((item.library for item in found if item.owner is None), key=lambda lib: lib.soname))
    return SystemCapture(
        manager=host.manager,
        packages=packages,
        python_mode=python_mode,
        python_distributions=tuple(used_python),
        site_dirs=tuple(site_dirs),
        left_out=left_out,
        unowned=unowned,
        missing=tuple(sorted(missing, key=lambda lib: lib.soname)),
        warnings=tuple(_warnings(host.manager, unowned, missing, used_python, python_mode)),
        notes=tuple(_notes(left_out)),
    )


def _loaded_at_run_time(
    facts: EnvironmentFacts, loaded: Sequence[str], inside: Sequence[str], needed: Sequence[NeededLibrary], resolver: Resolver
) -> list[NeededLibrary]:
    if not loaded:
        return []
    roots = tuple(os.path.join(os.path.realpath(folder), "") for folder in inside)
    minor = facts.interpreter.minor_version
    stdlib = os.path.join(facts.interpreter.base_prefix, "lib", f"python{minor}", "lib-dynload")
    try:
        interpreter_files = [os.path.join(stdlib, name) for name in os.listdir(stdlib)]
    except OSError:
        interpreter_files = []
    interpreter = library_closure([facts.interpreter.executable, *interpreter_files], resolver)
    known = {lib.soname for lib in needed} | {os.path.realpath(lib.path) for lib in needed if lib.path}
    found = []
    for path in loaded:
        real, name = os.path.realpath(path), os.path.basename(path)
        if name in LIBC_SONAMES or real in interpreter or real in known or name in known or real.startswith(roots):
            continue
        if name.startswith(_LIBC_PLUGINS) or "/gconv/" in real:
            continue  # loaded by libc itself (name service, character sets) whenever the process happens to need them
        known.add(name)
        found.append(NeededLibrary(name, path, "the running kernel"))
    return found


def distribution_files(dist: Distribution) -> list[str]:
    """The shared objects a distribution installed, from its RECORD (absolute paths)."""
    if not dist.metadata_dir or not dist.location:
        return []
    try:
        with open(os.path.join(dist.metadata_dir, "RECORD"), encoding="utf-8", errors="replace") as stream:
            lines = stream.read().splitlines()
    except OSError:
        return []
    paths = []
    for line in lines:
        relative = line.rsplit(",", 2)[0] if line.count(",") >= 2 else line
        if relative and is_shared_object(relative):
            paths.append(os.path.normpath(os.path.join(dist.location, relative)))
    return paths


def _env_prefixes(facts: EnvironmentFacts) -> list[str]:
    prefixes = [facts.interpreter.prefix]
    if facts.interpreter.conda_prefix:
        prefixes.append(facts.interpreter.conda_prefix)
    return [p for p in prefixes if p]


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _warnings(
    manager: str | None,
    unowned: Sequence[NeededLibrary],
    missing: Sequence[NeededLibrary],
    used_python: Sequence[str],
    python_mode: str,
) -> list[str]:
    warnings = []
    if manager is None and (unowned or used_python):
        warnings.append(
            "This host has no dpkg or rpm database, so the native libraries the environment needs beyond its wheels "
            f"({_listed([lib.soname for lib in unowned])}) cannot be named as system packages; the image must provide them."
        )
        return warnings
    for lib in unowned:
        if _carried(lib.path):
            continue
        size = _size(lib.path)
        why = (
            f"is too large to carry in the capsule ({size:,} bytes)"
            if size > VENDOR_LIMIT
            else "lives outside /usr/local and /opt, where the capsule would put it back"
        )
        warnings.append(
            f"{lib.soname} ({lib.path}), needed by {os.path.basename(lib.needed_by)}, belongs to no system package and "
            f"{why}; the image will not have it."
        )
    for lib in missing:
        warnings.append(
            f"{os.path.basename(lib.needed_by)} needs {lib.soname}, which this machine lacks too; importing it fails here as well."
        )
    if python_mode == "pypi" and used_python:
        warnings.append(
            f"{_listed(list(used_python))} came from the system's packages; the capsule locks the PyPI files of the same "
            "versions instead (--system-python-packages=pypi), which may be built differently."
        )
    return warnings


def _notes(left_out: Sequence[str]) -> list[str]:
    if not left_out:
        return []
    return [
        f"{len(left_out)} other distribution(s) from the system's packages are importable but nothing in the notebook "
        f"or its packages uses them, so they are not in the capsule: {_listed(list(left_out))}."
    ]


def _size(path: str | None) -> int:
    try:
        return os.path.getsize(path or "")
    except OSError:
        return 0


def _carried(path: str | None) -> bool:
    """A library no package owns travels when it is small and under /usr/local or /opt (built from source there)."""
    return bool(path) and bool(grammar.SYSTEM_LIBRARY.fullmatch(str(path))) and 0 < _size(path) <= VENDOR_LIMIT


def carried_path(library: str) -> str:
    """Where a carried library is kept in the capsule: ``system/lib/usr/local/lib/libfoo.so.1``."""
    return LIBRARY_FOLDER + library


def system_packages(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``[[system.packages]]`` records of a manifest."""
    section = manifest.get("system") or {}
    packages = section.get("packages") if isinstance(section, Mapping) else None
    return [p for p in packages or [] if isinstance(p, Mapping)]  # type: ignore[misc]
