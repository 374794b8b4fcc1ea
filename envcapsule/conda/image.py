"""The conda part of an image build: which package files, fetched where, and laid out in the build context.

Context layout (beside the pip layers that ``envcapsule.image.context`` writes)::

    conda-installer/   requirements.txt + the py-rattler wheel
    conda/             records.json, install.py and pkgs/ (hard links into the host cache)

The ``conda`` builder stage installs ``pkgs/`` into the kernel prefix with py-rattler; the
final image copies only the installed prefix, so no package file and no channel URL with a
token in it ever lands in one of its layers.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from envcapsule.capsule import Capsule
from envcapsule.conda.channels import IMAGE_PLATFORMS
from envcapsule.conda.fetch import cached_path, ensure_conda_files
from envcapsule.conda.installer_env import INSTALLER_PYTHON, installer_lock
from envcapsule.conda.locked import read_conda_lock
from envcapsule.conda.lockfile import CONDA_LOCK
from envcapsule.errors import CapsuleError
from envcapsule.facts import CondaRecord, EnvironmentFacts
from envcapsule.image.server_env import ServerLock
from envcapsule.image.wheelcache import WheelCache, link_into
from envcapsule.progress import Progress

INSTALL_SCRIPT = Path(__file__).with_name("rattler_install.py")


@dataclass(frozen=True)
class CondaFile:
    """One locked conda package, with the record fields the image's conda-meta takes from the capture."""

    name: str
    version: str
    build: str
    url: str
    md5: str
    sha256: str | None
    filename: str
    channel: str
    depends: tuple[str, ...]


@dataclass(frozen=True)
class CondaBuild:
    platform: str
    files: tuple[CondaFile, ...]
    installer: ServerLock


def conda_files(capsule: Capsule) -> tuple[str, tuple[CondaFile, ...]]:
    """The conda platform and packages a conda capsule's image installs, in install order."""
    section = capsule.manifest["conda"]
    platform = str(section["platform"])
    targets = [p.split("/", 1)[-1] for p in capsule.manifest.get("target", {}).get("platforms", [])]
    image_platform = IMAGE_PLATFORMS.get(targets[0] if targets else "amd64")
    if platform != image_platform:
        raise CapsuleError(
            f"The conda environment of this capsule was captured for {platform}, and conda packages of that platform "
            f"cannot run in a {image_platform or 'Linux'} image; snapshot a Linux conda environment of the same packages instead."
        )
    captured = {(r.name, r.version, r.build): r for r in EnvironmentFacts.from_probe(capsule.facts()).conda_records}
    files = []
    for package in read_conda_lock(capsule.folder / CONDA_LOCK, platform):
        record = captured.get((package.name, package.version, package.build or ""))
        files.append(
            CondaFile(
                name=package.name,
                version=package.version,
                build=package.build or "",
                url=package.url,
                md5=package.md5,
                sha256=package.sha256,
                filename=package.filename,
                channel=_channel(record, package.url),
                depends=record.depends if record and record.md5 == package.md5 else _depends(package.dependencies),
            )
        )
    return platform, tuple(files)


def _channel(record: CondaRecord | None, url: str) -> str:
    if record is not None and record.channel:
        return record.channel
    return url.rsplit("/", 2)[0]


def _depends(dependencies: dict[str, str]) -> tuple[str, ...]:
    return tuple(f"{name} {spec}".strip() for name, spec in dependencies.items())


def prepare_conda_build(capsule: Capsule, cache: WheelCache, lock_dir: Path, base_python: str, progress: Progress) -> CondaBuild:
    """Everything the conda stages need on the host: package files fetched and checked, the installer's wheel."""
    found = tuple(int(part) for part in base_python.split(".")[:2])
    if found < INSTALLER_PYTHON:
        raise CapsuleError(
            f"The conda installer (py-rattler) needs Python {'.'.join(map(str, INSTALLER_PYTHON))} or newer in the base image, "
            f"which has Python {base_python}; snapshot a conda environment with a newer Python or pass --base-image with one."
        )
    platform, files = conda_files(capsule)
    ensure_conda_files(files, cache, progress)
    machine = capsule.manifest["platform"]["machine"]
    return CondaBuild(platform, files, installer_lock(machine, cache, lock_dir, progress))


def write_conda_context(folder: Path, build: CondaBuild, cache: WheelCache) -> None:
    """``conda-installer/`` and ``conda/`` in the build context."""
    installer = folder / "conda-installer"
    installer.mkdir(parents=True, exist_ok=True)
    for file in build.installer.files:
        link_into(cache.path(file.sha256, file.filename), installer)
    (installer / "requirements.txt").write_text(build.installer.requirements)
    write_conda_packages(folder / "conda", build.files, cache)


def write_conda_packages(folder: Path, files: Sequence[CondaFile], cache: WheelCache) -> None:
    """``pkgs/`` (links to the cached files), ``records.json`` and the py-rattler ``install.py`` that reads them."""
    (folder / "pkgs").mkdir(parents=True, exist_ok=True)
    for file in files:
        link_into(cached_path(cache, file.md5, file.sha256, file.filename), folder / "pkgs")
    records = [{**asdict(file), "depends": list(file.depends)} for file in files]
    (folder / "records.json").write_text(json.dumps(records, indent=1) + "\n")
    shutil.copyfile(INSTALL_SCRIPT, folder / "install.py")
