"""image.lock: the base image a capsule's image was built on, pinned after its first build.

A pulled base is pinned by its RepoDigest (``python@sha256:…``), which any registry mirror
serves; a base made on this host (``docker import``) has none, so it is pinned by its image
ID. Later builds on the same base name build from exactly that image, and refuse in one
sentence when they cannot find it. The file lies outside the capsule hash, like build.json:
it records where the image came from, not what the notebook needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from envcapsule import _toml as tomllib
from envcapsule import grammar
from envcapsule.atomic import atomic_writer
from envcapsule.engine import engine_reason
from envcapsule.errors import BaseImageError, CapsuleError

IMAGE_LOCK = "image.lock"
_HEADER = "# The base image this capsule's image was built on, pinned: written by `envcapsule build`. Outside the capsule hash.\n"


@dataclass(frozen=True)
class BasePin:
    name: str  # the base image as named (a tag)
    image_id: str  # sha256:…
    digest: str | None = None  # NAME@sha256:…, when the base came from a registry

    def to_toml(self) -> str:
        base = {"name": self.name, "image_id": self.image_id, **({"digest": self.digest} if self.digest else {})}
        return _HEADER + tomli_w.dumps({"base": base})


def read_pin(folder: Path) -> BasePin | None:
    """The capsule's pinned base, None when it has none; one sentence when image.lock is damaged or out of grammar."""
    path = folder / IMAGE_LOCK
    if not path.is_file():
        return None
    try:
        base = tomllib.loads(path.read_text(encoding="utf-8"))["base"]
        name, image_id, digest = base["name"], base["image_id"], base.get("digest")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise CapsuleError(
            f"{path} is not an image lock ({type(error).__name__}: {error})",
            "delete it, and the next build pins the base image again",
        ) from None
    grammar.image_reference(f"{IMAGE_LOCK} base.name", name)
    if not isinstance(image_id, str) or not image_id.startswith("sha256:"):
        raise grammar.refused(f"{IMAGE_LOCK} base.image_id", image_id, "an image ID (sha256:…)")
    grammar.sha256(f"{IMAGE_LOCK} base.image_id", image_id.removeprefix("sha256:"))
    if digest is not None:
        grammar.image_reference(f"{IMAGE_LOCK} base.digest", digest)
        if "@sha256:" not in digest:
            raise grammar.refused(f"{IMAGE_LOCK} base.digest", digest, "a reference by digest (NAME@sha256:…)")
    return BasePin(name, image_id, digest)


def write_pin(folder: Path, pin: BasePin) -> None:
    path = folder / IMAGE_LOCK
    text = pin.to_toml()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    with atomic_writer(path, "w", encoding="utf-8") as stream:
        stream.write(text)


def pinned_reference(client: Any, pin: BasePin) -> str:
    """What to build FROM for ``pin``: its digest (pulled when missing), or its name while that is still the pinned image."""
    import docker.errors

    if pin.digest is not None:
        try:
            client.images.get(pin.digest)
            return pin.digest
        except docker.errors.ImageNotFound:
            pass
        try:
            client.images.pull(pin.digest)
            return pin.digest
        except docker.errors.APIError as error:
            raise BaseImageError(
                f"The base image {pin.name} is pinned in {IMAGE_LOCK} to {pin.digest}, which is not on this machine "
                f"and cannot be pulled ({engine_reason(error)})",
                f"pull it (`docker pull {pin.digest}`), or pass {{option:base_image}} with another image (then pinned instead)",
            ) from None
    try:
        found = client.images.get(pin.name).id
    except docker.errors.ImageNotFound:
        found = None
    if found == pin.image_id:
        return pin.name
    now = f"is image {found[:19]} here" if found else "is not on this machine"
    raise BaseImageError(
        f"The base image {pin.name} {now}, not the image {pin.image_id[:19]} this capsule was built on ({IMAGE_LOCK})",
        f"load that image as {pin.name}, or pass {{option:base_image}} with another image (then pinned instead)",
    )
