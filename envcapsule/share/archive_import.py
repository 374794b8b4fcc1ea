"""import_archive(): load an image archive's image and restore its capsule and notebook beside each other.

The whole archive is checked first (every member's size and sha256, the capsule's own
hashes, the image.tar's one image and its one tag, ``envcapsule/<name>:<hash>`` of the capsule),
and so is every place it would write; only then is the image loaded and the files restored.
A damaged or foreign archive, or one that would overwrite a different capsule, notebook or
image tag without ``force``, leaves the engine and the folder as they were.
"""

from __future__ import annotations

import os
import shlex
import shutil
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from envcapsule.capsule import MANIFEST, Capsule, read_capsule
from envcapsule.errors import CapsuleError
from envcapsule.progress import NullProgress, Progress
from envcapsule.share.archive_image import check_image_tar
from envcapsule.share.archive_manifest import CAPSULE_PREFIX, IMAGE_MEMBER, NOTEBOOK_PREFIX, ArchiveManifest, read_verified
from envcapsule.share.errors import ArchiveError, engine_reason


@dataclass(frozen=True)
class ImportResult:
    image: str
    image_id: str
    capsule: Path
    notebook: Path | None
    replaced: bool  # a different capsule or notebook was overwritten (only with force)
    launch_command: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "capsule": str(self.capsule), "notebook": str(self.notebook) if self.notebook else None}


def import_archive(
    tar: Path, client: Any, *, force: bool = False, destination: Path | None = None, progress: Progress | None = None
) -> ImportResult:
    """Verify the archive, load its image, and restore the capsule and notebook into ``destination`` (default: here)."""
    progress = progress or NullProgress()
    tar = Path(tar).absolute()
    destination = Path(destination or Path.cwd()).absolute()
    if not destination.is_dir():
        raise ArchiveError(f"The folder {destination} does not exist; create it or import into another folder.")
    try:
        archive = tarfile.open(tar, "r:*")
    except (tarfile.TarError, EOFError) as error:
        raise ArchiveError(
            f"{tar} is damaged or not a tar archive ({error}), so nothing was loaded; copy it again or export it anew."
        ) from None
    except OSError as error:
        raise ArchiveError(f"Cannot read {tar} ({error.strerror}); check the path and its permissions.") from None
    with archive:
        progress.step(f"Checking {tar.name}")
        try:
            manifest = read_verified(archive, tar)
        except (tarfile.TarError, EOFError, OSError) as error:
            raise ArchiveError(f"{tar} is damaged ({error}), so nothing was loaded; copy it again or export it anew.") from None
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{manifest.capsule_dir}.", suffix=".partial", dir=destination))
        except OSError as error:
            raise ArchiveError(
                f"Cannot write into {destination} ({error.strerror}); import into a folder you can write to."
            ) from None
        try:
            capsule = _extract_capsule(archive, manifest, staging, tar)
            notebook_bytes = _notebook_bytes(archive, manifest)
            capsule_target = destination / manifest.capsule_dir
            notebook_target = destination / manifest.notebook if manifest.notebook else None
            _check_image(archive, manifest, Capsule(capsule_target, capsule.manifest), tar)
            replaced = _check_targets(capsule_target, manifest.capsule_hash, notebook_target, notebook_bytes, force)
            replaced = _check_tag(client, manifest, force) or replaced
            progress.step(f"Loading the image {manifest.image}")
            image_id = _load(client, archive, manifest, tar)
            _restore(staging, capsule_target, notebook_target, notebook_bytes)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    beside = notebook_target is not None and capsule_target == notebook_target.with_name(f"{notebook_target.stem}.capsule")
    target = notebook_target if beside and notebook_target is not None else capsule_target  # launch finds the capsule
    return ImportResult(
        manifest.image, image_id, capsule_target, notebook_target, replaced, f"envcapsule launch {shlex.quote(str(target))}"
    )


def _extract_capsule(archive: tarfile.TarFile, manifest: ArchiveManifest, staging: Path, tar: Path) -> Capsule:
    """Write the capsule's members into ``staging`` and check the capsule's own hashes there."""
    staging.chmod(0o755)
    for name in sorted(manifest.files):
        if not name.startswith(CAPSULE_PREFIX):
            continue
        target = staging / name.removeprefix(CAPSULE_PREFIX)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = archive.extractfile(name)
        assert source is not None  # read_verified checked that every member is a plain file
        with target.open("wb") as stream:
            shutil.copyfileobj(source, stream)
    try:
        capsule = read_capsule(staging)
    except CapsuleError as error:
        raise ArchiveError(f"{tar} holds a damaged capsule ({error}), so nothing was loaded; export it anew.") from None
    if capsule.capsule_hash != manifest.capsule_hash:
        raise ArchiveError(
            f"{tar} is damaged (its capsule's hash differs from its manifest's), so nothing was loaded; export it anew."
        )
    return capsule


def _check_image(archive: tarfile.TarFile, manifest: ArchiveManifest, capsule: Capsule, tar: Path) -> None:
    """The image is the capsule's, and the only tag it brings is the capsule's own."""
    from envcapsule.image.build import image_tag

    if manifest.image != image_tag(capsule):
        raise ArchiveError(
            f"{tar} was refused (it names its image {manifest.image[:80]!r}, not {image_tag(capsule)}, the tag of its capsule), "
            "so nothing was loaded; ask for an archive made with `envcapsule export`."
        )
    stream = archive.extractfile(IMAGE_MEMBER)
    assert stream is not None  # read_verified checked that every member is a plain file
    check_image_tar(stream, manifest, capsule.capsule_hash, tar)


def _check_tag(client: Any, manifest: ArchiveManifest, force: bool) -> bool:
    """Whether loading moves the capsule's tag off another image; without ``force`` that is refused here."""
    from docker.errors import ImageNotFound

    try:
        existing = client.images.get(manifest.image)
    except ImageNotFound:
        return False
    if str(existing.id) == manifest.image_id:
        return False
    if not force:
        raise ArchiveError(
            f"{manifest.image} already names another image on this machine ({str(existing.id)[:19]}); "
            "pass --force to move the tag to the archived image, or import on a host without it."
        )
    return True


def _notebook_bytes(archive: tarfile.TarFile, manifest: ArchiveManifest) -> bytes | None:
    if not manifest.notebook or f"{NOTEBOOK_PREFIX}{manifest.notebook}" not in manifest.files:
        return None
    stream = archive.extractfile(f"{NOTEBOOK_PREFIX}{manifest.notebook}")
    return stream.read() if stream else None


def _check_targets(capsule: Path, capsule_hash: str, notebook: Path | None, notebook_bytes: bytes | None, force: bool) -> bool:
    """Whether something different will be replaced; without ``force`` that is refused here, before any change."""
    different: list[str] = []
    if capsule.exists():
        try:
            same = read_capsule(capsule, verify=False).capsule_hash == capsule_hash
        except CapsuleError:
            same = False
        if not same:
            kind = "a different capsule" if (capsule / MANIFEST).is_file() else "something that is not this capsule"
            different.append(f"{capsule} holds {kind}")
    if notebook is not None and notebook_bytes is not None and notebook.exists() and notebook.read_bytes() != notebook_bytes:
        different.append(f"{notebook} differs from the archived notebook")
    if different and not force:
        raise ArchiveError(f"{' and '.join(different)}; pass --force to replace them, or import into another folder.")
    return bool(different)


def _load(client: Any, archive: tarfile.TarFile, manifest: ArchiveManifest, tar: Path) -> str:
    from docker.errors import APIError, ImageLoadError, ImageNotFound

    stream = archive.extractfile(IMAGE_MEMBER)
    try:
        client.images.load(stream)
        image = client.images.get(manifest.image)
    except (APIError, ImageLoadError) as error:
        raise ArchiveError(
            f"The Docker engine could not load the image from {tar} ({engine_reason(error)}); check `docker info` and try again."
        ) from None
    except ImageNotFound:
        raise ArchiveError(f"{tar} loaded no image named {manifest.image}; export it again with `envcapsule export`.") from None
    return str(image.id)


def _restore(staging: Path, capsule: Path, notebook: Path | None, notebook_bytes: bytes | None) -> None:
    if capsule.exists() and (capsule / MANIFEST).is_file() and _same_capsule(capsule, staging):
        pass  # already here: keep the folder (and its build and push records) as it is
    else:
        _swap_in(staging, capsule)
    if notebook is not None and notebook_bytes is not None:
        partial = notebook.with_name(f".{notebook.name}.partial")
        partial.write_bytes(notebook_bytes)
        os.replace(partial, notebook)


def _same_capsule(existing: Path, staged: Path) -> bool:
    try:
        return read_capsule(existing, verify=False).capsule_hash == read_capsule(staged, verify=False).capsule_hash
    except CapsuleError:
        return False


def _swap_in(staging: Path, destination: Path) -> None:
    retired = None
    if destination.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".old", dir=destination.parent))
        os.replace(destination, retired / "previous")
    try:
        os.replace(staging, destination)
    except OSError:
        if retired is not None:
            os.replace(retired / "previous", destination)
        raise
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
