"""The shared libraries an environment's ELF files need, resolved the way the dynamic loader does.

ELF headers are read with pyelftools in the core (the probe stays standard-library only and
runs under the kernel's interpreter; this runs on the same host right after it). For each
extension module and bundled library, the ``DT_NEEDED`` names are looked up in the file's
``DT_RPATH`` (when it has no ``DT_RUNPATH``), ``LD_LIBRARY_PATH``, its ``DT_RUNPATH``, the
loader cache (``ldconfig -p``) and the default folders, in that order (ld.so(8)).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

# Provided by the C library itself, in every base image: never a package to install.
LIBC_SONAMES = frozenset(
    {
        "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1", "libresolv.so.2",
        "libanl.so.1", "libcrypt.so.1", "libmvec.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
        "ld-linux.so.2", "ld-linux-armhf.so.3", "ld64.so.2", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1",
    }
)  # fmt: skip
DEFAULT_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64")
_MULTIARCH = {"EM_X86_64": "x86_64-linux-gnu", "EM_AARCH64": "aarch64-linux-gnu", "EM_386": "i386-linux-gnu"}
_LDCONFIG_LINE = re.compile(r"^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$")
_SHARED_OBJECT = re.compile(r"\.so(\.\d+)*$")


@dataclass(frozen=True)
class ElfInfo:
    path: str
    machine: str
    elf_class: int
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()


def is_shared_object(path: str) -> bool:
    """An extension module or a bundled library, by its name (``.so``, ``.so.1.2``, ``.cpython-311-x86_64-linux-gnu.so``)."""
    return bool(_SHARED_OBJECT.search(os.path.basename(path)))


def read_elf(path: str, known: ElfCache | None = None) -> ElfInfo | None:
    """The dynamic section of one ELF file; None for a file that is not ELF (a linker script, a broken file)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    if known is not None:
        return known.read(path, stat.st_size, stat.st_mtime_ns)
    return _read_elf(path, stat.st_size, stat.st_mtime_ns)


class ElfCache:
    """Dynamic sections already read, kept on disk by path, size and modification time: a second scan reads no ELF file."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        if file is not None:
            try:
                loaded = json.loads(file.read_text(encoding="utf-8"))
                if isinstance(loaded, dict) and loaded.get("version") == 1 and isinstance(loaded.get("files"), dict):
                    self.entries = loaded["files"]
            except (OSError, ValueError):
                pass

    def read(self, path: str, size: int, mtime_ns: int) -> ElfInfo | None:
        entry = self.entries.get(path)
        if isinstance(entry, list) and len(entry) == 7 and entry[:2] == [size, mtime_ns]:
            if entry[2] is None:
                return None
            return ElfInfo(path, str(entry[2]), int(entry[3]), tuple(entry[4]), tuple(entry[5]), tuple(entry[6]))
        info = _read_elf(path, size, mtime_ns)
        self.entries[path] = [size, mtime_ns, *(_fields(info))]
        self.changed = True
        return info

    def save(self) -> None:
        if self.file is None or not self.changed:
            return
        from envcapsule.atomic import atomic_writer

        try:
            with atomic_writer(self.file, "w", encoding="utf-8") as stream:
                stream.write(json.dumps({"version": 1, "files": self.entries}, separators=(",", ":")))
        except OSError:
            pass  # a cache that cannot be written only makes the next scan slower


def _fields(info: ElfInfo | None) -> list[Any]:
    if info is None:
        return [None, 0, [], [], []]
    return [info.machine, info.elf_class, list(info.needed), list(info.rpath), list(info.runpath)]


@lru_cache(maxsize=4096)
def _read_elf(path: str, size: int, mtime_ns: int) -> ElfInfo | None:
    """Cached on the file's size and modification time: the loader's search reads the same candidates many times."""
    try:
        with open(path, "rb") as stream:
            if stream.read(4) != b"\x7fELF":
                return None
            stream.seek(0)
            elf = ELFFile(stream)
            needed: list[str] = []
            rpath: list[str] = []
            runpath: list[str] = []
            # The PT_DYNAMIC segment, as the loader reads it: no walk over every section of a large library.
            for segment in elf.iter_segments(type="PT_DYNAMIC"):
                if not isinstance(segment, DynamicSegment):
                    continue
                for tag in segment.iter_tags():
                    if tag.entry.d_tag == "DT_NEEDED":
                        needed.append(tag.needed)  # type: ignore[attr-defined]  # set on DT_NEEDED tags only
                    elif tag.entry.d_tag == "DT_RPATH":
                        rpath.extend(p for p in tag.rpath.split(":") if p)  # type: ignore[attr-defined]
                    elif tag.entry.d_tag == "DT_RUNPATH":
                        runpath.extend(p for p in tag.runpath.split(":") if p)  # type: ignore[attr-defined]
            return ElfInfo(path, elf["e_machine"], elf.elfclass, tuple(needed), tuple(rpath), tuple(runpath))
    except (OSError, ELFError, ValueError, KeyError):
        return None


def _expand(entries: Sequence[str], origin: str) -> list[str]:
    """``$ORIGIN`` (and ``${ORIGIN}``) as ld.so expands them; other tokens are left to the loader and skipped."""
    expanded = []
    for entry in entries:
        entry = entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
        if "$" not in entry:
            expanded.append(os.path.normpath(entry))
    return expanded


@lru_cache(maxsize=4)
def loader_cache(ldconfig: str = "ldconfig") -> Mapping[tuple[str, str], str]:
    """(soname, ldconfig's architecture word) -> path, from ``ldconfig -p``; empty where there is no ldconfig (macOS)."""
    for command in (ldconfig, "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            output = subprocess.run([command, "-p"], capture_output=True, text=True, timeout=30, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        return parse_ldconfig(output)
    return {}


def parse_ldconfig(output: str) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for line in output.splitlines():
        match = _LDCONFIG_LINE.match(line)
        if match:
            name, flags, path = match.groups()
            found.setdefault((name, _arch_word(flags)), path)
    return found


def _arch_word(flags: str) -> str:
    """``libc6,x86-64`` -> ``x86-64``; ``libc6`` (32-bit or the only one) -> ``""``."""
    parts = [p.strip() for p in flags.split(",")]
    return next((p for p in parts[1:] if not p.startswith(("OS ABI", "hwcap"))), "")


_LDCONFIG_ARCH = {"EM_X86_64": "x86-64", "EM_AARCH64": "AArch64"}


@dataclass(frozen=True)
class Resolver:
    """Finds a needed library as the loader would, for ELF files of one machine."""

    library_path: Sequence[str] = ()  # LD_LIBRARY_PATH of the kernel
    cache: Mapping[tuple[str, str], str] = field(default_factory=dict)
    root: str = "/"
    known: ElfCache | None = None

    def resolve(self, name: str, elf: ElfInfo) -> str | None:
        if "/" in name:
            return name if os.path.isfile(name) else None
        origin = os.path.dirname(elf.path)
        search = [] if elf.runpath else _expand(elf.rpath, origin)
        search += list(self.library_path)
        search += _expand(elf.runpath, origin)
        for folder in search:
            candidate = os.path.join(folder, name)
            if self._compatible(candidate, elf):
                return candidate
        cached = self.cache.get((name, _LDCONFIG_ARCH.get(elf.machine, "")))
        if cached and os.path.isfile(cached):
            return cached
        multiarch = _MULTIARCH.get(elf.machine)
        defaults = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"] if multiarch else []
        for folder in [*defaults, *DEFAULT_DIRS]:
            candidate = os.path.join(self.root, folder.lstrip("/"), name)
            if self._compatible(candidate, elf):
                return candidate
        return None

    def _compatible(self, candidate: str, elf: ElfInfo) -> bool:
        if not os.path.isfile(candidate):
            return False
        found = read_elf(candidate, self.known)
        return found is not None and found.machine == elf.machine and found.elf_class == elf.elf_class


@dataclass(frozen=True)
class NeededLibrary:
    soname: str
    path: str | None  # None: the loader would not find it on this host either
    needed_by: str  # the first file (relative to its distribution's folder) that needs it


def system_libraries(files: Iterable[str], inside: Sequence[str], resolver: Resolver) -> list[NeededLibrary]:
    """The libraries ``files`` need that are neither libc's nor under one of the ``inside`` folders (the environment).

    Libraries the environment bundles (auditwheel's ``*.libs/``) are followed, so what they
    need is found too; libraries outside it are reported, not followed: the package that owns
    one brings what it needs.
    """
    roots = tuple(os.path.join(os.path.realpath(folder), "") for folder in inside)
    found: dict[str, NeededLibrary] = {}
    shared = [f for f in files if is_shared_object(f)]
    for name, resolved, needed_by, followed in _walk(shared, resolver, lambda path: os.path.realpath(path).startswith(roots)):
        if not followed and name not in found:
            found[name] = NeededLibrary(name, resolved, needed_by)
    return [found[name] for name in sorted(found)]


def library_closure(files: Iterable[str], resolver: Resolver) -> set[str]:
    """The real paths of ``files`` and of every library they load, directly or through one another (libc's aside)."""
    closure = {os.path.realpath(f) for f in files}
    for _name, resolved, _needed_by, _followed in _walk(files, resolver, lambda path: True):
        if resolved is not None:
            closure.add(os.path.realpath(resolved))
    return closure


def _walk(files: Iterable[str], resolver: Resolver, follow: Callable[[str], bool]) -> Iterator[tuple[str, str | None, str, bool]]:
    """Every needed library: (soname, where the loader finds it or None, the file that needs it, whether it was followed).

    A library ``follow`` accepts has its own needs read in turn; each file is read once.
    """
    seen: set[str] = set()
    queue = list(files)
    while queue:
        path = queue.pop()
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        elf = read_elf(real, resolver.known)
        if elf is None:
            continue
        origin = dataclasses.replace(elf, path=path)  # $ORIGIN is the folder the file was found in
        for name in elf.needed:
            if name in LIBC_SONAMES:
                continue
            resolved = resolver.resolve(name, origin)
            followed = resolved is not None and follow(resolved)
            if followed:
                queue.append(str(resolved))
            yield name, resolved, path, followed


def host_resolver(environment: Mapping[str, str], known: ElfCache | None = None) -> Resolver:
    library_path = [p for p in environment.get("LD_LIBRARY_PATH", "").split(":") if p]
    return Resolver(library_path=tuple(library_path), cache=loader_cache(), known=known)


def mapped_libraries(maps_text: str) -> list[str]:
    """The shared objects a live process has loaded, from its ``/proc/self/maps``."""
    paths: list[str] = []
    for line in maps_text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/") and is_shared_object(parts[5].strip()) and parts[5].strip() not in paths:
            paths.append(parts[5].strip())
    return paths
