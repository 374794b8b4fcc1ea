"""What an archive's image.tar would do to the engine, checked before `docker load` sees it.

`docker load` tags whatever the tar's manifest.json lists in ``RepoTags``, moving tags that
already exist on the host. So an archive is loaded only when its image.tar holds exactly one
image, whose config has the id the archive's manifest names and carries the capsule's hash in
its labels, and whose only tag is the capsule's own ``envcapsule/<name>:<hash>``.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path
from typing import IO, Any

from envcapsule.contract import CAPSULE_HASH_LABEL
from envcapsule.share.archive_manifest import ArchiveManifest
from envcapsule.share.errors import ArchiveError

_NAME_ANNOTATIONS = ("io.containerd.image.name",)


def check_image_tar(stream: IO[bytes], manifest: ArchiveManifest, capsule_hash: str, tar: Path) -> None:
    """Refuse an image.tar that would tag anything but ``manifest.image`` or is not the capsule's image."""
    try:
        with tarfile.open(fileobj=stream, mode="r:") as image:
            entries = _json(image, "manifest.json", tar)
            if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
                raise _foreign(tar, "its image.tar does not hold exactly one image")
            entry = entries[0]
            tags = entry.get("RepoTags") or []
            if any(tag != manifest.image for tag in tags):
                others = ", ".join(str(tag) for tag in tags if tag != manifest.image)
                raise _foreign(tar, f"its image.tar would also tag {others[:120]}")
            for name in _index_names(image, tar):
                if name not in (manifest.image, f"docker.io/{manifest.image}"):
                    raise _foreign(tar, f"its image.tar would also tag {name[:120]}")
            config_bytes = _member_bytes(image, str(entry.get("Config", "")), tar)
    except (tarfile.TarError, EOFError) as error:
        raise ArchiveError(f"{tar} holds a damaged image.tar ({error}), so nothing was loaded; export it anew.") from None
    if "sha256:" + hashlib.sha256(config_bytes).hexdigest() != manifest.image_id:
        raise _foreign(tar, f"its image is not the image {manifest.image_id[:19]} its manifest names")
    try:
        labels = json.loads(config_bytes).get("config", {}).get("Labels") or {}
    except (ValueError, AttributeError):
        labels = {}
    if labels.get(CAPSULE_HASH_LABEL) != capsule_hash:
        raise _foreign(tar, "its image does not carry the capsule's hash in its labels")


def _json(image: tarfile.TarFile, name: str, tar: Path) -> Any:
    try:
        return json.loads(_member_bytes(image, name, tar))
    except ValueError:
        raise _foreign(tar, f"its image.tar has an unreadable {name}") from None


def _index_names(image: tarfile.TarFile, tar: Path) -> list[str]:
    """Names an OCI index.json asks an engine with the containerd image store to tag."""
    try:
        image.getmember("index.json")
    except KeyError:
        return []
    index = _json(image, "index.json", tar)
    manifests = index.get("manifests", []) if isinstance(index, dict) else []
    return [
        str(m["annotations"][key])
        for m in manifests
        if isinstance(m, dict) and isinstance(m.get("annotations"), dict)
        for key in _NAME_ANNOTATIONS
        if key in m["annotations"]
    ]


def _member_bytes(image: tarfile.TarFile, name: str, tar: Path) -> bytes:
    try:
        stream = image.extractfile(name)
    except KeyError:
        stream = None
    if stream is None:
        raise _foreign(tar, f"its image.tar has no {name or 'image config'}")
    return stream.read()


def _foreign(tar: Path, why: str) -> ArchiveError:
    return ArchiveError(
        f"{tar} was refused ({why}), so nothing was loaded and no tag on this machine moved; "
        "ask for an archive made with `envcapsule export`."
    )
