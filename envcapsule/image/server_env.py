"""The image's server environment: JupyterLab, Notebook and jupyterhub-singleuser, apart from the kernel.

It is resolved once per (Python minor, architecture) on the host with ``pip download`` for
the image's platform, kept in the wheel cache with a hashed requirements file, and reused by
every capsule, so building an image never resolves or downloads inside the build.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename

from envcapsule.atomic import atomic_writer
from envcapsule.errors import EnvcapsuleError
from envcapsule.image.files import LockedFile
from envcapsule.image.wheelcache import WheelCache
from envcapsule.progress import NullProgress, Progress

# nbval and pytest let `envcapsule verify` re-execute and compare a notebook inside the image;
# jupyterhub gives JupyterHub and BinderHub their jupyterhub-singleuser, notebook the classic UI.
SERVER_PACKAGES = ("jupyterlab>=4,<5", "notebook>=7,<8", "jupyterhub>=5,<6", "nbval>=0.11", "pytest>=8")
# ``build --server minimal``: JupyterLab and its jupyter_server alone, for images that are only launched.
SERVER_PROFILES = {"full": SERVER_PACKAGES, "minimal": ("jupyterlab>=4,<5",)}


@dataclass(frozen=True)
class ServerLock:
    files: tuple[LockedFile, ...]
    requirements: str  # hashed, one line per file

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.requirements.encode()).hexdigest()


def server_lock(
    python_version: str,
    machine: str,
    cache: WheelCache,
    lock_dir: Path,
    progress: Progress | None = None,
    *,
    refresh: bool = False,
    profile: str = "full",
) -> ServerLock:
    """The host's server lock for this Python minor, architecture and profile, resolved once (again with ``refresh``)."""
    minor = "".join(python_version.split(".")[:2])
    record = host_record(lock_dir, minor, machine, profile)
    if refresh or not record.is_file():
        (progress or NullProgress()).step("Resolving the server environment (once per Python version)")
        _resolve(minor, machine, cache, record, SERVER_PROFILES[profile])
    return read_wheel_record(record, cache)


def host_record(lock_dir: Path, minor: str, machine: str, profile: str = "full") -> Path:
    """Where the host cache keeps its server lock for ``cp<minor>`` on ``machine`` and the profile's current packages."""
    wanted = hashlib.sha256(" ".join(SERVER_PROFILES[profile]).encode()).hexdigest()[:12]
    return lock_dir / f"cp{minor}-{machine}-{wanted}.txt"


def _platforms(machine: str) -> list[str]:
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(36, 16, -1)]
    return [*tags, f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}", f"linux_{machine}"]


def _resolve(minor: str, machine: str, cache: WheelCache, record: Path, packages: Sequence[str]) -> None:
    download_wheels(
        packages,
        machine=machine,
        python_version=f"{minor[0]}.{minor[1:]}",
        abi=f"cp{minor}",
        what=f"the server environment (JupyterLab) for Python {minor[0]}.{minor[1:]}",
        cache=cache,
        record=record,
    )


def download_wheels(
    requirements: Sequence[str],
    *,
    machine: str,
    python_version: str,
    abi: str,
    what: str,
    cache: WheelCache,
    record: Path,
    no_deps: bool = False,
) -> None:
    """``pip download`` wheels for the image's platform into the cache, and list them (name, sha256, size) in ``record``."""
    with tempfile.TemporaryDirectory(prefix="envcapsule-wheels-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:"]
        command += ["--implementation", "cp", "--python-version", python_version, "--abi", abi, "--dest", scratch]
        command += ["--no-deps"] if no_deps else []
        for platform in _platforms(machine):
            command += ["--platform", platform]
        completed = subprocess.run([*command, *requirements], capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            last = (completed.stderr.strip().splitlines() or ["pip download failed"])[-1]
            raise EnvcapsuleError(
                f"Could not download {what} ({last}); check the network, or run the build once where the package index is reachable."
            )
        lines = []
        for path in sorted(Path(scratch).glob("*.whl")):
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            cache.add(path, sha, path.name)
            lines.append(f"{path.name} {sha} {path.stat().st_size}")
    with atomic_writer(record, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines) + "\n")


def read_wheel_record(record: Path, cache: WheelCache) -> ServerLock:
    """The wheels a record lists, all present in the cache, with their hashed requirements."""
    files = []
    for line in record.read_text().split("\n"):
        if not line.strip():
            continue
        filename, sha, size = line.split()
        name, version, _, _ = parse_wheel_filename(filename)
        files.append(LockedFile(name, str(version), filename, sha, int(size)))
    missing = [f for f in files if not cache.has(f)]
    if missing:
        record.unlink()  # the cache was pruned: resolve again next time
        raise EnvcapsuleError(f"The cached server environment lost {missing[0].filename}; run the build again to fetch it.")
    return server_lock_of(files)


def server_lock_of(files: Sequence[LockedFile]) -> ServerLock:
    """The lock of ``files`` in file-name order, so the same files always give the same requirements and sha256."""
    ordered = sorted(files, key=lambda f: f.filename)
    requirements = "".join(f"{f.name}=={f.version} --hash=sha256:{f.sha256}\n" for f in ordered)
    return ServerLock(tuple(ordered), requirements)


def clear(lock_dir: Path) -> None:
    shutil.rmtree(lock_dir, ignore_errors=True)
