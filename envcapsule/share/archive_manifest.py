"""The manifest of an image archive, and the checks that refuse a damaged or foreign one before anything is loaded.

An archive is one uncompressed tar::

    envcapsule-archive.json   this manifest: format, capsule hash, image, and every member's size and sha256
    capsule/...               the capsule folder (capsule.toml, lockfiles, vendored wheels, Dockerfile, ...)
    notebook/NAME.ipynb       the notebook as it was exported
    image.tar                 the image, as `docker save` writes it
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from envcapsule.share.errors import ArchiveError

MANIFEST_NAME = "envcapsule-archive.json"
FORMAT = "envcapsule-archive"
VERSION = 1
IMAGE_MEMBER = "image.tar"
CAPSULE_PREFIX = "capsule/"
NOTEBOOK_PREFIX = "notebook/"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ArchiveManifest:
    capsule_hash: str
    capsule_dir: str  # the capsule folder's name, e.g. analysis.capsule
    notebook: str | None  # the notebook's file name
    image: str  # the image's tag
    image_id: str
    files: dict[str, tuple[int, str]]  # member -> (size, sha256)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "capsule_hash": self.capsule_hash,
            "capsule_dir": self.capsule_dir,
            "notebook": self.notebook,
            "image": self.image,
            "image_id": self.image_id,
            "files": [{"path": path, "size": size, "sha256": sha} for path, (size, sha) in sorted(self.files.items())],
        }


def file_digest(stream: IO[bytes]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while block := stream.read(_CHUNK):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()


def read_verified(archive: tarfile.TarFile, path: Path) -> ArchiveManifest:
    """The manifest, once every member is a plain, safely named file whose size and sha256 match it."""
    members = archive.getmembers()
    by_name = {m.name: m for m in members}
    if MANIFEST_NAME not in by_name:
        raise ArchiveError(f"{path} is not an envcapsule archive (it has no {MANIFEST_NAME}); make one with `envcapsule export`.")
    manifest = _parse(archive, by_name[MANIFEST_NAME], path)
    if len(by_name) != len(members):
        raise _damaged(path, "a member appears twice")
    listed = set(manifest.files) | {MANIFEST_NAME}
    for member in members:
        if member.name not in listed:
            raise _damaged(path, f"{member.name} is not in its manifest")
        if not member.isreg() or not _safe(member.name):
            raise _damaged(path, f"{member.name} is not a plain file inside the archive")
    for name, (size, sha) in sorted(manifest.files.items()):
        if name not in by_name:
            raise _damaged(path, f"{name} is missing")
        stream = archive.extractfile(by_name[name])
        if stream is None or file_digest(stream) != (size, sha):
            raise _damaged(path, f"{name} does not match its recorded size and sha256")
    return manifest


def _parse(archive: tarfile.TarFile, member: tarfile.TarInfo, path: Path) -> ArchiveManifest:
    stream = archive.extractfile(member)
    try:
        data = json.loads(stream.read() if stream else b"")
    except ValueError:
        raise _damaged(path, f"{MANIFEST_NAME} is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArchiveError(f"{path} is not an envcapsule archive (its manifest is not one); make one with `envcapsule export`.")
    if data.get("version") != VERSION:
        raise ArchiveError(
            f"{path} is an envcapsule archive of version {data.get('version')!r}, and this envcapsule reads version {VERSION}; "
            "upgrade envcapsule or export it again."
        )
    try:
        files = {str(f["path"]): (int(f["size"]), str(f["sha256"])) for f in data["files"]}
        manifest = ArchiveManifest(
            capsule_hash=str(data["capsule_hash"]),
            capsule_dir=str(data["capsule_dir"]),
            notebook=str(data["notebook"]) if data.get("notebook") else None,
            image=str(data["image"]),
            image_id=str(data["image_id"]),
            files=files,
        )
    except (KeyError, TypeError, ValueError):
        raise _damaged(path, f"{MANIFEST_NAME} lacks a field it needs") from None
    names = [manifest.capsule_dir, *([manifest.notebook] if manifest.notebook else [])]
    if not all(_simple_name(n) for n in names) or IMAGE_MEMBER not in files:
        raise _damaged(path, f"{MANIFEST_NAME} names no image or an unsafe file")
    if not all(f == IMAGE_MEMBER or f.startswith((CAPSULE_PREFIX, NOTEBOOK_PREFIX)) for f in files):
        raise _damaged(path, f"{MANIFEST_NAME} lists a file outside capsule/, notebook/ and {IMAGE_MEMBER}")
    return manifest


def _safe(name: str) -> bool:
    pure = PurePosixPath(name)
    return not pure.is_absolute() and ".." not in pure.parts and "\\" not in name and name == pure.as_posix()


def _simple_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")


def _damaged(path: Path, why: str) -> ArchiveError:
    return ArchiveError(f"{path} is damaged ({why}), so nothing was loaded; copy it again or export it anew.")
