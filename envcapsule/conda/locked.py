"""conda-lock.yml read back with conda-lock's own parser: the conda packages an image installs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from envcapsule.conda.lockfile import conda_lock_modules
from envcapsule.errors import CapsuleError


@dataclass(frozen=True)
class LockedCondaPackage:
    """A conda package as conda-lock.yml locks it."""

    name: str
    version: str
    build: str | None
    url: str
    md5: str
    sha256: str | None
    dependencies: dict[str, str]

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def read_conda_lock(path: Path, platform: str | None = None) -> list[LockedCondaPackage]:
    """The conda packages of a conda-lock.yml in install order, checked with conda-lock's models."""
    modules = conda_lock_modules()
    try:
        lock = modules["lockfile"].parse_conda_lock_file(path)
    except Exception as error:  # noqa: BLE001 - yaml, pydantic and conda-lock's own errors all mean a damaged file
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CapsuleError(f"{path.name} is not a valid conda-lock file ({first}); snapshot again to rewrite it.") from None
    platforms = lock.metadata.platforms
    wanted = platform or (platforms[0] if platforms else None)
    return [
        LockedCondaPackage(
            name=p.name,
            version=p.version,
            build=p.build,
            url=p.url,
            md5=p.hash.md5 or "",
            sha256=p.hash.sha256,
            dependencies=dict(p.dependencies),
        )
        for p in lock.package
        if p.manager == "conda" and p.platform == wanted
    ]
