"""Notebook files, content-addressed in the host cache and hard-linked into capsules and build contexts.

A file is hashed once to learn its sha256, and copied into the cache only when the cache lacks
it (checked against that hash while copying), so a 50 MB data file is stored once however many
capsules and snapshots carry it. A file that changes while it is read is refused, never half-kept.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcapsule import grammar
from envcapsule.atomic import atomic_writer
from envcapsule.errors import NotebookFilesError

FILES_FOLDER = "files"  # in the capsule folder and in the build context
_BLOCK = 1 << 20


@dataclass(frozen=True)
class NotebookFile:
    path: str  # relative to the notebook's folder, POSIX
    size: int
    sha256: str

    def to_record(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_record(cls, record: Mapping[str, Any], where: str = "files") -> NotebookFile:
        """A ``[[files]]`` entry, refused unless its path and hash keep to their grammar (it reaches the build context)."""
        path = grammar.relative_path(f"{where}.path", record.get("path"))
        sha256 = grammar.sha256(f"{where}.sha256", record.get("sha256"))
        size = record.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise grammar.refused(f"{where}.size", size, "a size in bytes")
        return cls(path, size, sha256)


def files_hash(files: Iterable[NotebookFile]) -> str:
    """The identity of the notebook's files, apart from the environment's: paths and contents."""
    canonical = sorted((f.path, f.sha256) for f in files)
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def add(self, source: Path, relative: str) -> NotebookFile:
        """Hash ``source`` and keep a copy in the cache; refuse it if it changes while being read."""
        try:
            before = os.stat(source)
            digest, read = hash_file(source)
            after = os.stat(source)
            if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or read != after.st_size:
                raise _changed(source, relative)
            if not self.has(digest):
                self._copy_in(source, digest, relative)
        except OSError as error:
            raise NotebookFilesError(
                f"{source} cannot be read ({error.strerror})", f"make it readable, or leave it out with --exclude {relative}"
            ) from None
        return NotebookFile(relative, read, digest)

    def add_checked(self, source: Path, file: NotebookFile) -> Path:
        """Bring a capsule's copy into the cache (a capsule from another host), checked against its recorded hash."""
        from envcapsule.errors import CapsuleError

        if self.has(file.sha256):
            return self.path(file.sha256)
        if not source.is_file():
            raise CapsuleError(
                f"{file.path} is missing from the capsule's {FILES_FOLDER}/ folder; snapshot again to recreate it."
            )
        try:
            self._copy_in(source, file.sha256, file.path)
        except NotebookFilesError:
            raise CapsuleError(
                f"{FILES_FOLDER}/{file.path} no longer matches its sha256 in capsule.toml; snapshot again instead of editing it."
            ) from None
        return self.path(file.sha256)

    def _copy_in(self, source: Path, sha256: str, relative: str) -> None:
        digest = hashlib.sha256()
        with source.open("rb") as stream, atomic_writer(self.path(sha256)) as target:
            for block in iter(lambda: stream.read(_BLOCK), b""):
                digest.update(block)
                target.write(block)
            if digest.hexdigest() != sha256:
                raise _changed(source, relative)  # the temporary copy is discarded
        os.chmod(self.path(sha256), 0o644)  # shared by hard links into capsules and build contexts: one fixed mode

    def place(self, files: Sequence[NotebookFile], folder: Path) -> None:
        """Hard-link (or copy) each cached file to ``folder``/its relative path."""
        from envcapsule.image.wheelcache import link_or_copy

        for file in files:
            target = folder.joinpath(*file.path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(self.path(file.sha256), target)


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    read = 0
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(_BLOCK), b""):
            digest.update(block)
            read += len(block)
    return digest.hexdigest(), read


def _changed(source: Path, relative: str) -> NotebookFilesError:
    return NotebookFilesError(
        f"{source} changed while envcapsule was reading it",
        f"snapshot again once nothing is writing to it, or leave it out with --exclude {relative}",
    )


def default_store() -> FileStore:
    from envcapsule.paths import cache_root

    return FileStore(cache_root() / "files")
