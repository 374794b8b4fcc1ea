"""The image's conda installer: py-rattler's wheel for the image's architecture, fetched once into the host cache.

py-rattler installs conda packages without a conda binary, offline, from local files. Its
wheel is abi3, so one file serves every CPython >= 3.10 on an architecture; it is downloaded
on the host like the server environment (``pip download`` for the image's platform), kept in
the wheel cache with a hashed requirements file, and installed inside the build with no index.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from envcapsule.errors import EnvcapsuleError
from envcapsule.image.server_env import ServerLock, _platforms, _read
from envcapsule.image.wheelcache import WheelCache
from envcapsule.progress import NullProgress, Progress

INSTALLER_PYTHON = (3, 10)  # py-rattler's Requires-Python


def rattler_requirement() -> str:
    """The py-rattler this envcapsule runs with: the image installs with the same version."""
    try:
        return f"py-rattler=={metadata.version('py-rattler')}"
    except metadata.PackageNotFoundError:
        raise EnvcapsuleError(
            "Building a conda capsule needs py-rattler; install it with `pip install 'envcapsule[conda]'` and build again."
        ) from None


def installer_lock(machine: str, cache: WheelCache, lock_dir: Path, progress: Progress | None = None) -> ServerLock:
    """The hashed wheel list of the installer environment for ``machine`` (x86_64, aarch64)."""
    requirement = rattler_requirement()
    record = lock_dir / f"{requirement.replace('==', '-')}-{machine}.txt"
    if not record.is_file():
        (progress or NullProgress()).step("Fetching the conda installer (py-rattler) for the image")
        _download(requirement, machine, cache, record)
    return _read(record, cache)


def _download(requirement: str, machine: str, cache: WheelCache, record: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="envcapsule-rattler-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
        command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", "3.10", "--abi", "abi3"]
        command += ["--dest", scratch]
        for platform in _platforms(machine):
            command += ["--platform", platform]
        completed = subprocess.run([*command, requirement], capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            last = (completed.stderr.strip().splitlines() or ["pip download failed"])[-1]
            raise EnvcapsuleError(
                f"Could not download {requirement} for {machine} images ({last}); "
                "check the network, or run the build once where the package index is reachable."
            )
        lines = []
        for path in sorted(Path(scratch).glob("*.whl")):
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            cache.add(path, sha, path.name)
            lines.append(f"{path.name} {sha} {path.stat().st_size}")
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_suffix(".partial")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, record)
