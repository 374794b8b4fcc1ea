"""The image's conda installer: py-rattler's wheel for the image's architecture, fetched once into the host cache.

py-rattler installs conda packages without a conda binary, offline, from local files. Its
wheel is abi3, so one file serves every CPython >= 3.10 on an architecture; it is downloaded
on the host like the server environment (``pip download`` for the image's platform), kept in
the wheel cache with a hashed requirements file, and installed inside the build with no index.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from envcapsule.errors import EnvcapsuleError
from envcapsule.image.server_env import ServerLock, download_wheels, read_wheel_record
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
    return read_wheel_record(record, cache)


def _download(requirement: str, machine: str, cache: WheelCache, record: Path) -> None:
    # py-rattler's wheel is abi3: one file per architecture serves every CPython >= 3.10.
    download_wheels(
        [requirement],
        machine=machine,
        python_version="3.10",
        abi="abi3",
        what=f"{requirement} for {machine} images",
        cache=cache,
        record=record,
        no_deps=True,
    )
