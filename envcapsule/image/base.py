"""Which base image a capsule builds on, and whether its interpreter matches the capture."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envcapsule.errors import EnvcapsuleError

DEFAULT_CODENAME = "bookworm"
_PROBE = "import json, platform, sys; print(json.dumps([platform.python_implementation(), platform.python_version()]))"


class BaseImageError(EnvcapsuleError):
    """The base image is missing, unpullable or holds the wrong interpreter."""


@dataclass(frozen=True)
class BaseImage:
    name: str
    image_id: str
    digest: str | None
    python_version: str
    warnings: list[str] = field(default_factory=list)


def default_base_image(manifest: Mapping[str, Any]) -> str:
    """``python:<exact version>-slim-<debian codename>`` for a CPython capsule.

    CUDA from pip wheels needs only the host driver, so it keeps that base; CUDA from the
    system's libraries needs them in the image: an ``nvidia/cuda`` cuDNN runtime image.
    """
    version = manifest["interpreter"]["version"]
    cuda = manifest.get("cuda") or {}
    if cuda.get("source") == "system" and cuda.get("version"):
        from envcapsule.cuda import cuda_base_image

        image = cuda_base_image(str(cuda["version"]), version)
        if image is None:
            raise BaseImageError(
                f"envcapsule knows no nvidia/cuda base image for the system CUDA {cuda['version']} of this capsule; "
                "pass --base-image with a CUDA image of that version that has Python "
                f"{'.'.join(version.split('.')[:2])}."
            )
        return image
    platform = manifest.get("platform", {})
    codename = platform.get("distro_codename") if platform.get("distro_id") == "debian" else None
    return f"python:{version}-slim-{codename or DEFAULT_CODENAME}"


def check_base_image(client: Any, name: str, python_version: str) -> BaseImage:
    """The base image, pulled if needed, with its interpreter checked: another minor is an error, another patch a warning."""
    image = _local_or_pulled(client, name)
    found = _python_in(client, name)
    wanted_minor, found_minor = python_version.split(".")[:2], found.split(".")[:2]
    if wanted_minor != found_minor:
        raise BaseImageError(
            f"The base image {name} has Python {found}, but the capsule was captured with Python {python_version}; "
            f"pass --base-image with an image that has Python {'.'.join(wanted_minor)}."
        )
    warnings = []
    if found != python_version:
        warnings.append(f"The base image {name} has Python {found}, not {python_version} as captured (same minor version).")
    digests = image.attrs.get("RepoDigests") or []
    return BaseImage(name, image.id, digests[0] if digests else None, found, warnings)


def _local_or_pulled(client: Any, name: str) -> Any:
    import docker.errors

    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        pass
    try:
        return client.images.pull(name)
    except docker.errors.APIError as error:
        reason = getattr(error, "explanation", None) or str(error)
        raise BaseImageError(
            f"The base image {name} is not on this machine and cannot be pulled ({reason}); "
            "pass --base-image with a local image, or load one with `docker load`."
        ) from None


def _python_in(client: Any, name: str) -> str:
    import docker.errors

    try:
        output = client.containers.run(
            name, ["python3", "-c", _PROBE], entrypoint=[], remove=True, stdout=True, stderr=True, network_disabled=True
        )
        implementation, version = json.loads(output.decode().strip().splitlines()[-1])
    except (docker.errors.ContainerError, docker.errors.APIError, ValueError, IndexError) as error:
        raise BaseImageError(
            f"The base image {name} has no working python3 ({str(error).strip()[:120]}); pass --base-image with a Python image."
        ) from None
    return str(version)
