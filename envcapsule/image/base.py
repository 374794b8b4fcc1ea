"""Which base image a capsule builds on, and whether its interpreter matches the capture."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from envcapsule.engine import engine_reason
from envcapsule.errors import BaseImageError
from envcapsule.progress import NullProgress, Progress

if TYPE_CHECKING:
    from envcapsule.image.python_dist import StandalonePython

DEFAULT_CODENAME = "bookworm"
_PROBE_TIMEOUT = 60
_NOT_FOUND = "executable file not found"
_PROBE = "import json, platform, sys; print(json.dumps([platform.python_implementation(), platform.python_version()]))"


@dataclass(frozen=True)
class BaseImage:
    name: str
    image_id: str
    digest: str | None
    python_version: str
    warnings: list[str] = field(default_factory=list)
    standalone: StandalonePython | None = None  # the interpreter envcapsule adds, when the base has none
    reference: str = ""  # what the Dockerfile's FROM names: ``name``, or the digest image.lock pins it to


def default_base_image(manifest: Mapping[str, Any]) -> str:
    """``python:<exact version>-slim-<debian codename>`` for a CPython capsule (Debian of the host's release).

    A capsule with system packages captured on Ubuntu gets ``ubuntu:<version>`` of that host, so
    the packages can be installed at the captured versions; the build adds a standalone Python.

    CUDA from pip wheels needs only the host driver, so it keeps that base; CUDA from the
    system's libraries needs them in the image: an ``nvidia/cuda`` cuDNN runtime image, to
    which the build adds a standalone Python.
    """
    version = manifest["interpreter"]["version"]
    platform = manifest.get("platform", {})
    cuda = manifest.get("cuda") or {}
    if cuda.get("source") == "system" and cuda.get("version"):
        from envcapsule.cuda import cuda_base_image

        ubuntu = platform.get("distro_version") if platform.get("distro_id") == "ubuntu" else None
        image = cuda_base_image(str(cuda["version"]), ubuntu)
        if image is None:
            raise BaseImageError(
                f"envcapsule knows no nvidia/cuda base image for the system CUDA {cuda['version']} of this capsule; "
                "pass --base-image with an image that has CUDA of that version (Python is added when it has none)."
            )
        return image
    system = (manifest.get("system") or {}).get("packages")
    if system and platform.get("distro_id") == "ubuntu" and platform.get("distro_version"):
        # The captured system packages exist at their versions in the host's own release; the build adds Python.
        return f"ubuntu:{platform['distro_version']}"
    codename = platform.get("distro_codename") if platform.get("distro_id") == "debian" else None
    return f"python:{version}-slim-{codename or DEFAULT_CODENAME}"


def check_base_image(
    client: Any, name: str, python_version: str, progress: Progress | None = None, platform: str = "linux/amd64"
) -> BaseImage:
    """The base image, pulled if needed, with its interpreter checked: another minor is an error, another patch a warning.

    A base without ``python3`` (the ``nvidia/cuda`` runtime images, for one) gets a
    standalone CPython of the captured version, fetched on the host into the cache.
    """
    image = _local_or_pulled(client, name, platform)
    arch = platform.split("/")[1]
    if (image.attrs.get("Architecture") or "amd64") != arch:
        raise BaseImageError(
            f"The base image {name} is for {image.attrs.get('Architecture') or 'amd64'}, and this build is for {platform}",
            f"pass {{option:base_image}} with a {platform} image (made with `docker import --platform {platform}`, or pulled for it)",
        )
    found = _python_in(client, name, platform)
    standalone = None
    warnings: list[str] = []
    if found is None:
        standalone = _standalone_python(python_version, image.attrs.get("Architecture") or "amd64", progress)
        found, warnings = standalone.version, list(standalone.warnings)
    wanted_minor, found_minor = python_version.split(".")[:2], found.split(".")[:2]
    if wanted_minor != found_minor:
        raise BaseImageError(
            f"The base image {name} has Python {found}, but the capsule was captured with Python {python_version}; "
            f"pass --base-image with an image that has Python {'.'.join(wanted_minor)}."
        )
    if found != python_version and standalone is None:
        warnings.append(f"The base image {name} has Python {found}, not {python_version} as captured (same minor version).")
    digests = image.attrs.get("RepoDigests") or []
    return BaseImage(name, image.id, digests[0] if digests else None, found, warnings, standalone, reference=name)


def _standalone_python(version: str, docker_arch: str, progress: Progress | None) -> StandalonePython:
    from envcapsule.image.python_dist import fetch_standalone_python
    from envcapsule.paths import cache_root

    (progress or NullProgress()).step(f"The base image has no Python: using a standalone Python {version}")
    return fetch_standalone_python(version, docker_arch, cache_root() / "pythons", progress)


def _local_or_pulled(client: Any, name: str, platform: str = "linux/amd64") -> Any:
    import docker.errors

    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        pass
    try:
        return client.images.pull(name, platform=platform)
    except docker.errors.APIError as error:
        raise BaseImageError(
            f"The base image {name} is not on this machine and cannot be pulled ({engine_reason(error)})",
            "choose a local one with {option:base_image} (or once, with ENVCAPSULE_BASE_IMAGE), or load one with `docker load`",
        ) from None


def _python_in(client: Any, name: str, platform: str = "linux/amd64") -> str | None:
    """The version of the base image's ``python3``; None when it has none; an error when it has a broken one."""
    import docker.errors
    import requests

    container = None
    try:
        container = client.containers.create(
            name, ["python3", "-c", _PROBE], entrypoint=[], network_disabled=True, platform=platform
        )
        try:
            container.start()
        except docker.errors.APIError as error:
            if _NOT_FOUND in str(error):
                return None
            raise
        status = container.wait(timeout=_PROBE_TIMEOUT).get("StatusCode")
        output = container.logs(stdout=True, stderr=True).decode(errors="replace").strip()
        if status == 127:  # a shell-wrapping entrypoint says "python3: not found" this way
            return None
        if status != 0:
            raise BaseImageError(
                f"The base image {name} has a python3 that failed (exit status {status}: {output[-120:]}); "
                "pass --base-image with a working Python image."
            )
        implementation, version = json.loads(output.splitlines()[-1])
    except (docker.errors.APIError, requests.RequestException, ValueError, IndexError) as error:
        raise BaseImageError(
            f"The base image {name} has no working python3 ({str(error).strip()[:120]}); pass --base-image with a Python image."
        ) from None
    finally:
        if container is not None:
            container.remove(force=True)
    return str(version)
