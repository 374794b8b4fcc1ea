"""export_archive(): a capsule, its notebook and its image in one tar, for hosts without a registry.

The layout and the manifest are in ``archive_manifest``; ``archive_import`` reads the tar back.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from envcapsule.capsule import read_capsule
from envcapsule.progress import NullProgress, Progress
from envcapsule.share.archive_manifest import (
    CAPSULE_PREFIX,
    IMAGE_MEMBER,
    MANIFEST_NAME,
    NOTEBOOK_PREFIX,
    ArchiveManifest,
    file_digest,
)
from envcapsule.share.errors import ArchiveError, engine_reason


@dataclass(frozen=True)
class ArchiveExport:
    path: Path
    size: int
    image: str
    image_id: str
    capsule_hash: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def export_archive(notebook: Path, output_tar: Path, client: Any, progress: Progress | None = None) -> ArchiveExport:
    """Write the capsule of ``notebook`` (a notebook or a capsule folder), its notebook and its built image to one tar."""
    from docker.errors import APIError, ImageNotFound

    from envcapsule.image.build import image_tag

    progress = progress or NullProgress()
    capsule, notebook_file = _capsule_and_notebook(Path(notebook).absolute())
    tag = image_tag(capsule)
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        raise ArchiveError(f"The capsule's image {tag} is not on this machine; build it first with `envcapsule build`.") from None
    output_tar = Path(output_tar).absolute()
    if not output_tar.parent.is_dir():
        raise ArchiveError(f"The folder {output_tar.parent} does not exist; pass -o with a file in an existing folder.")
    members = {f"{CAPSULE_PREFIX}{p.relative_to(capsule.folder).as_posix()}": p for p in _capsule_files(capsule.folder)}
    if notebook_file is not None:
        members[f"{NOTEBOOK_PREFIX}{notebook_file.name}"] = notebook_file

    scratch = Path(tempfile.mkdtemp(prefix=f".{output_tar.name}.", suffix=".partial", dir=output_tar.parent))
    try:
        progress.step(f"Saving the image {tag}")
        try:
            image_size, image_sha = _save(image, tag, scratch / IMAGE_MEMBER)
        except APIError as error:
            raise ArchiveError(
                f"The Docker engine could not save {tag} ({engine_reason(error)}); check `docker image inspect {tag}`."
            ) from None
        files = {name: file_digest_of(path) for name, path in members.items()}
        files[IMAGE_MEMBER] = (image_size, image_sha)
        manifest = ArchiveManifest(
            capsule.capsule_hash, capsule.folder.name, notebook_file.name if notebook_file else None, tag, str(image.id), files
        )
        progress.step(f"Writing {output_tar}")
        partial = scratch / "archive.tar"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
            _add_bytes(archive, MANIFEST_NAME, json.dumps(manifest.to_json(), indent=1, sort_keys=True).encode() + b"\n")
            for name, path in sorted(members.items()):
                archive.add(path, arcname=name, recursive=False, filter=_plain)
            archive.add(scratch / IMAGE_MEMBER, arcname=IMAGE_MEMBER, recursive=False, filter=_plain)
        os.replace(partial, output_tar)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return ArchiveExport(output_tar, output_tar.stat().st_size, tag, str(image.id), capsule.capsule_hash)


def _capsule_and_notebook(target: Path) -> tuple[Any, Path | None]:
    from envcapsule.paths import default_capsule_dir

    if target.is_dir():
        capsule = read_capsule(target)
        beside = [target.parent / name for name in capsule.notebooks if (target.parent / name).is_file()]
        return capsule, beside[0] if beside else None
    if not target.is_file():
        raise ArchiveError(f"{target} does not exist; pass a notebook that has a capsule, or a capsule folder.")
    return read_capsule(default_capsule_dir(target)), target


def _capsule_files(folder: Path) -> list[Path]:
    """Every plain file of the capsule, leaving out half-written temporaries."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and not p.name.endswith(".partial"))


def file_digest_of(path: Path) -> tuple[int, str]:
    with path.open("rb") as stream:
        return file_digest(stream)


def _save(image: Any, tag: str, target: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as stream:
        for chunk in image.save(named=tag):
            stream.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))
