"""`envcapsule doctor`: can this host build and run a capsule? Engine, GPUs, disk, images, one check a line."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envcapsule.capsule import read_capsule
from envcapsule.config import default_base_image as configured_base_image
from envcapsule.cuda import (
    ENGINE_DECIDES,
    RUNTIME_CHECK,
    Check,
    CudaFacts,
    gpu_trial,
    host_checks,
    host_gpus,
    is_cuda_capsule,
    registered_gpu_support,
)
from envcapsule.engine import connect
from envcapsule.errors import EngineError, EnvcapsuleError
from envcapsule.image.base import default_base_image
from envcapsule.image.build import image_tag
from envcapsule.paths import cache_root


def doctor(capsule_dir: Path, client: Any = None, *, host: CudaFacts | None = None) -> list[Check]:
    """A table of checks for launching any capsule here: capsule, engine, GPUs, disk space, images."""
    folder = Path(capsule_dir)
    checks, manifest, capsule = _capsule_check(folder)
    own_client = None
    if client is None:
        try:
            client = own_client = connect()
        except EngineError as error:
            checks.append(Check("engine", False, str(error).rstrip(".")))
    try:
        if client is not None:
            checks.append(_engine_check(client))
        if manifest is None:
            pass  # the capsule check already failed: nothing says whether it needs GPUs
        elif is_cuda_capsule(manifest):
            host = host_gpus() if host is None else host
            checks += [_engine_gpu_check(client, capsule), *host_checks(host, manifest)]
        else:
            checks.append(Check("GPUs", True, "not needed: the capsule does not use CUDA"))
        locked = _locked_bytes(folder)
        checks.append(_docker_disk_check(client, locked))
        checks.append(_cache_disk_check(locked))
        if capsule is not None and client is not None:
            checks += _image_checks(client, capsule)
    finally:
        if own_client is not None:
            own_client.close()
    return checks


def _capsule_check(folder: Path) -> tuple[list[Check], Mapping[str, Any] | None, Any]:
    try:
        capsule = read_capsule(folder)
    except EnvcapsuleError as error:
        try:
            manifest: Mapping[str, Any] | None = read_capsule(folder, verify=False).manifest
        except EnvcapsuleError:
            manifest = None
        return [Check("capsule", False, str(error).rstrip("."))], manifest, None
    interpreter = capsule.manifest.get("interpreter", {})
    cuda = capsule.manifest.get("cuda") or {}
    uses = f", CUDA {cuda['version']} from {cuda.get('source', 'an unknown source')}" if cuda.get("version") else ""
    detail = f"{capsule.capsule_hash[:12]}: Python {interpreter.get('version', '?')}{uses}"
    return [Check("capsule", True, detail)], capsule.manifest, capsule


def _engine_gpu_check(client: Any, capsule: Any) -> Check:
    """The runtime check, settled by a trial container when `docker info` cannot tell and an image is at hand."""
    if client is None:
        return Check(RUNTIME_CHECK, False, "not checked: no Docker engine answered")
    registered = registered_gpu_support(client)
    if registered is not None:
        return registered
    image = _trial_image(client, capsule) if capsule is not None else None
    return gpu_trial(client, image) if image else ENGINE_DECIDES


def _trial_image(client: Any, capsule: Any) -> str | None:
    """A local image to try GPUs with: the capsule's built image, else its base image; None rather than pulling."""
    tag = image_tag(capsule)
    if _local_image(client, tag):
        return tag
    try:
        base = default_base_image(capsule.manifest)
    except EnvcapsuleError:
        return None
    return base if _local_image(client, base) else None


def _engine_check(client: Any) -> Check:
    try:
        version = client.version()
    except Exception as error:  # any engine failure becomes a failed check
        return Check("engine", False, f"the Docker engine did not answer ({error})", "check it with `docker info`")
    platform = (version.get("Platform") or {}).get("Name") or "Docker engine"
    return Check("engine", True, f"{platform} {version.get('Version', '?')} (API {version.get('ApiVersion', '?')})")


def _locked_bytes(folder: Path) -> int:
    """The size of every locked file in pylock.toml (0 when unreadable)."""
    from envcapsule import _toml as tomllib

    try:
        lock = tomllib.loads((folder / "pylock.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    total = 0
    for package in lock.get("packages", []):
        files = [*package.get("wheels", []), *([package["sdist"]] if package.get("sdist") else [])]
        total += max((int(f.get("size") or 0) for f in files), default=0)
    return total


def _gib(size: float) -> str:
    return f"{size / 2**30:.1f} GiB"


def _free_space_check(name: str, path: Path, needed: int, what: str) -> Check:
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        return Check(name, True, f"{path} is not on this machine; not measured")
    free = shutil.disk_usage(existing).free
    detail = f"{_gib(free)} free in {path}; {what} needs about {_gib(needed)}"
    if free >= needed:
        return Check(name, True, detail)
    return Check(name, False, detail, f"free some space in {existing} (e.g. `docker system prune`)")


def _docker_disk_check(client: Any, locked: int) -> Check:
    name = "disk (engine)"
    try:
        root = (client.info() if client is not None else {}).get("DockerRootDir")
    except Exception:  # the engine check already said why
        root = None
    if not root:
        return Check(name, True, "the engine's storage folder is unknown; not measured")
    # Installed packages take about twice their wheels, plus the base image and the server environment.
    return _free_space_check(name, Path(root), 3 * locked + 2 * 2**30, "the image")


def _cache_disk_check(locked: int) -> Check:
    return _free_space_check("disk (cache)", cache_root(), locked + 2**30, "the wheel cache")


def _image_checks(client: Any, capsule: Any) -> list[Check]:
    checks = []
    tag = image_tag(capsule)
    built = _local_image(client, tag)
    checks.append(Check("image", True, f"{tag} is built" if built else f"{tag} is not built yet; `envcapsule build` builds it"))
    checks += _system_check(client, tag, capsule.manifest, built)
    try:
        base = configured_base_image() or default_base_image(capsule.manifest)
    except EnvcapsuleError as error:
        return [*checks, Check("base image", False, str(error).rstrip("."))]
    if _local_image(client, base):
        return [*checks, Check("base image", True, f"{base} is on this machine")]
    if built:
        return [*checks, Check("base image", True, f"{base} is not on this machine; the built image does not need it")]
    return [
        *checks,
        Check(
            "base image",
            False,
            f"{base} is not on this machine, and a build must pull it from a registry",
            "check that the registry can be reached, or make a base image here and name it with ENVCAPSULE_BASE_IMAGE",
        ),
    ]


def _system_check(client: Any, tag: str, manifest: Mapping[str, Any], built: bool) -> list[Check]:
    """Which system packages the image carries (its label), or which the build will install and how."""
    from envcapsule.contract import SYSTEM_PACKAGES_LABEL
    from envcapsule.system.capture import system_packages

    wanted = [str(p["name"]) for p in system_packages(manifest)]
    if not wanted:
        return []
    shown = ", ".join(wanted[:8]) + (f" and {len(wanted) - 8} more" if len(wanted) > 8 else "")
    if built:
        labels = client.images.get(tag).labels or {}
        carried = str(labels.get(SYSTEM_PACKAGES_LABEL, "")).split()
        return [
            Check(
                "system packages",
                True,
                f"the image carries {len(carried)} system package(s) for the capsule's {len(wanted)}: {shown}",
            )
        ]
    if shutil.which("apt-get"):
        return [Check("system packages", True, f"a build installs {len(wanted)} system package(s): {shown}")]
    return [
        Check(
            "system packages",
            False,
            f"the capsule needs {len(wanted)} system package(s) ({shown}) and this host has no apt to fetch them",
            "build on a Debian or Ubuntu host, or let the image install them by name from its base's repository (the build needs the network then)",
        )
    ]


def _local_image(client: Any, name: str) -> bool:
    try:
        client.images.get(name)
    except Exception:  # ImageNotFound, or an engine error the engine check reports
        return False
    return True
