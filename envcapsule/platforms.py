"""Target platforms: the Linux platforms a capsule's image is built for, and what an installer there would pick.

A platform is named the way the Docker Engine names it (``linux/amd64``). Its wheel tags and
PEP 508 marker values come from ``packaging``; the glibc of the target image decides which
manylinux wheels fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from packaging import tags

from envcapsule.errors import UsageError

SUPPORTED = ("linux/amd64", "linux/arm64")
DEFAULT_TARGETS = SUPPORTED
DEFAULT_GLIBC = (2, 36)  # Debian bookworm's, the default base image's
_MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
# Wheels tagged with these glibc spellings fit a target whose glibc is at least the version named.
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


def docker_arch(machine: str) -> str:
    """``x86_64`` -> ``amd64``, ``aarch64`` (or macOS's ``arm64``) -> ``arm64``; others as they are, lower case."""
    return _ARCHES.get(machine.lower(), machine.lower())


def platform_of(os_name: str, machine: str) -> str:
    """The engine-style name of a captured platform: ``linux/amd64``, ``darwin/arm64``, ``windows/amd64``."""
    return f"{os_name.lower()}/{docker_arch(machine)}"


def parse_platforms(text: str | Sequence[str]) -> tuple[str, ...]:
    """``linux/amd64,linux/arm64`` (or a list of them) as a tuple in the order given; one sentence when one is unknown."""
    items = text.split(",") if isinstance(text, str) else [p for part in text for p in str(part).split(",")]
    platforms = tuple(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
    unknown = [p for p in platforms if p not in SUPPORTED]
    if unknown or not platforms:
        shown = ", ".join(unknown) or "nothing"
        raise UsageError(
            f"envcapsule builds images for {' and '.join(SUPPORTED)}, not {shown}",
            "pass --platform with one or both of them, comma-separated, such as --platform linux/amd64,linux/arm64",
        )
    return platforms


@dataclass(frozen=True)
class Target:
    """A Linux platform an image is built for, with the interpreter of the capture."""

    platform: str  # linux/amd64
    python_version: str  # 3.11.2
    implementation: str = "cpython"
    glibc: tuple[int, int] = DEFAULT_GLIBC

    @property
    def arch(self) -> str:
        return self.platform.split("/")[1]

    @property
    def machine(self) -> str:
        return _MACHINES[self.arch]

    @property
    def minor(self) -> tuple[int, int]:
        major, minor = self.python_version.split(".")[:2]
        return int(major), int(minor)

    def platform_tags(self) -> list[str]:
        """The ``platform`` parts of the wheel tags that fit, most specific first (as packaging orders them)."""
        oldest = 17 if self.machine == "aarch64" else 5  # aarch64 wheels start at manylinux2014
        found = []
        for minor in range(self.glibc[1], oldest - 1, -1):
            found.append(f"manylinux_{self.glibc[0]}_{minor}_{self.machine}")
            legacy = _LEGACY_MANYLINUX.get((self.glibc[0], minor))
            if legacy:
                found.append(f"{legacy}_{self.machine}")
        return [*found, f"linux_{self.machine}"]

    def tags(self) -> list[tags.Tag]:
        """Every tag the target's installer accepts, best first."""
        platforms = self.platform_tags()
        short = tags.INTERPRETER_SHORT_NAMES.get(self.implementation, self.implementation)
        interpreter = f"{short}{self.minor[0]}{self.minor[1]}"
        if self.implementation == "cpython":
            found = [*tags.cpython_tags(self.minor, abis=[interpreter], platforms=platforms)]
        else:
            found = [*tags.generic_tags(interpreter, abis=[], platforms=platforms)]
        return [*found, *tags.compatible_tags(self.minor, interpreter, platforms)]

    def marker_environment(self) -> dict[str, str]:
        """The PEP 508 marker values an interpreter of this version has on this platform."""
        return {
            "implementation_name": self.implementation,
            "implementation_version": self.python_version,
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": self.python_version,
            "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(
                self.implementation, self.implementation
            ),
            "python_version": ".".join(map(str, self.minor)),
            "sys_platform": "linux",
        }

    def marker(self) -> str:
        """The pylock.toml ``environments`` marker of this platform."""
        return (
            f"sys_platform == 'linux' and platform_machine == '{self.machine}' and implementation_name == '{self.implementation}'"
        )

    def uv_platform(self) -> str:
        """uv's ``--python-platform`` for this target: ``x86_64-manylinux_2_36``."""
        return f"{self.machine}-manylinux_{self.glibc[0]}_{self.glibc[1]}"


def best_wheel(target: Target, filenames: Iterable[str]) -> str | None:
    """The wheel the target's installer prefers among ``filenames`` (its most specific fitting tag), None when none fits."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    rank = _ranks(target)
    best: tuple[int, str] | None = None
    for filename in filenames:
        if not filename.endswith(".whl"):
            continue
        try:
            file_tags = parse_wheel_filename(filename)[3]
        except (InvalidWheelFilename, ValueError):
            continue
        positions = [rank[tag] for tag in file_tags if tag in rank]
        if positions and (best is None or min(positions) < best[0]):
            best = (min(positions), filename)
    return best[1] if best else None


@lru_cache(maxsize=32)
def _ranks(target: Target) -> dict[tags.Tag, int]:
    return {tag: position for position, tag in enumerate(target.tags())}


def glibc_of(text: str | None) -> tuple[int, int] | None:
    """``"2.36"`` -> (2, 36); None for anything else."""
    try:
        major, minor = str(text or "").split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def target_glibc(platform: Mapping[str, object]) -> tuple[int, int]:
    """The glibc of the image: the captured one on a glibc Linux (the default base matches its distribution), else bookworm's."""
    if platform.get("os") == "linux" and platform.get("libc") == "glibc":
        return glibc_of(str(platform.get("libc_version") or "")) or DEFAULT_GLIBC
    return DEFAULT_GLIBC
