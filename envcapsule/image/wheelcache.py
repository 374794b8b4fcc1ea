"""A host-side cache of package files, addressed by sha256 and shared by every capsule.

Each locked file is fetched once (hash-checked) and then hard-linked into build contexts,
so a capsule whose files are all cached builds with no network at all.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from envcapsule.atomic import atomic_writer
from envcapsule.capsule import Capsule, sha256_bytes, sha256_file
from envcapsule.errors import CapsuleError
from envcapsule.image.files import LockedFile, vendored_path
from envcapsule.progress import NullProgress, Progress


class WheelCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, filename: str) -> Path:
        return self.root / sha256[:2] / sha256 / filename

    def has(self, file: LockedFile) -> bool:
        return self.path(file.sha256, file.filename).is_file()

    def add(self, source: Path, sha256: str, filename: str) -> Path:
        """Copy a local file in, checking that it is what its hash says."""
        target = self.path(sha256, filename)
        if target.is_file():
            return target
        data = source.read_bytes()
        if sha256_bytes(data) != sha256:
            raise CapsuleError(f"{source} does not match its recorded sha256; snapshot again.")
        with atomic_writer(target) as stream:
            stream.write(data)
        return target

    def drop_changed(self, files: Sequence[LockedFile]) -> list[LockedFile]:
        """Remove each cached file of ``files`` whose content no longer matches its sha256, so that it is fetched again."""

        def changed(file: LockedFile) -> bool:
            path = self.path(file.sha256, file.filename)
            return path.is_file() and sha256_file(path) != file.sha256

        with ThreadPoolExecutor(max_workers=4) as pool:
            dropped = [f for f, bad in zip(files, pool.map(changed, files), strict=True) if bad]
        for file in dropped:
            self.path(file.sha256, file.filename).unlink()
        return dropped

    def ensure(
        self, capsule: Capsule, files: Sequence[LockedFile], fetcher: object | None, progress: Progress | None = None
    ) -> list[Path]:
        """Every file in the cache: vendored ones copied from the capsule, the rest downloaded once."""
        progress = progress or NullProgress()
        missing = [f for f in files if not self.has(f)]
        for file in [f for f in missing if f.vendored]:
            self.add(vendored_path(capsule, file), file.sha256, file.filename)
        downloads = [f for f in missing if not f.vendored]
        if downloads:
            if fetcher is None:
                raise CapsuleError(f"{len(downloads)} locked file(s) are not in the cache and no index client was given.")
            progress.step("Fetching locked files into the host cache", total=len(downloads))

            def fetch(file: LockedFile) -> None:
                fetcher.fetch(file.url or "", self.path(file.sha256, file.filename), file.sha256)  # type: ignore[attr-defined]
                progress.advance(file.filename)

            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(fetch, downloads))
        return [self.path(f.sha256, f.filename) for f in files]


def link_into(source: Path, folder: Path) -> Path:
    """Hard-link a cached file into a build context (copy across file systems)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    link_or_copy(source, target)
    return target


def link_or_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """A hard link where the file system allows, else a copy that keeps the mode (``shutil.copytree``'s copy_function)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
