"""launch(): start a capsule image's JupyterLab in a locked-down container and wait until it answers.

The defaults follow DESIGN §4: the port is published on 127.0.0.1 only, a fresh random
token guards the server, all capabilities are dropped, no-new-privileges is set, the
server runs as uid 1000 under an init process. The token reaches Jupyter through a file
only uid 1000 can read (``JUPYTER_TOKEN_FILE``), never through the command line, which
every local user sees in ``ps`` and ``docker inspect``. Whatever goes wrong — an error, a
timeout, Ctrl-C — the container is removed before the exception leaves, so a failed
launch leaves nothing behind; Ctrl-C is held back while the engine creates or removes the
container, so that no container exists that envcapsule holds no handle to.
"""

from __future__ import annotations

import io
import re
import secrets
import stat
import sys
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envcapsule.contract import (
    CAPSULE_HASH_LABEL,
    HOME,
    JOVYAN,
    MANAGED_LABEL,
    NB_UID,
    NOTEBOOK_LABEL,
    PORT_LABEL,
    TOKEN_DIR,
    TOKEN_FILE,
    WORK_DIR,
)
from envcapsule.contract import PORT as JUPYTER_PORT
from envcapsule.cuda import gpu_refusal
from envcapsule.engine import engine_reason
from envcapsule.progress import NullProgress, Progress
from envcapsule.run.errors import LaunchError
from envcapsule.run.interrupts import interrupts_held
from envcapsule.run.launched import Launched, lab_url, published_port
from envcapsule.run.readiness import check_running, wait_until_ready
from envcapsule.run.records import remove_record, write_record

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container


def launch(
    client: DockerClient,
    image: str,
    *,
    port: int | None = None,
    mount: Path | None = None,
    gpus: Sequence[str | int] | None = None,
    memory: str | None = None,
    cpus: float | None = None,
    timeout: float = 60.0,
    progress: Progress | None = None,
) -> Launched:
    """Start ``image`` and return once Jupyter answers; ``gpus=[]`` or ``["all"]`` requests every GPU.

    ``memory`` (``4g``) and ``cpus`` (``2``, ``0.5``) limit the container; without them it has the host's.
    """
    progress = progress or NullProgress()
    labels = image_labels(client, image)
    if mount is not None:
        mount = checked_mount(mount, progress)
    token = secrets.token_hex(24)
    name = container_name(labels)
    options = run_options(labels, token, name=name, port=port, mount=mount, gpus=gpus, memory=memory, cpus=cpus)
    foreign = _foreign_platform(client, labels)
    if foreign is not None:
        image_platform, native = foreign
        progress.step(f"The image is {image_platform} and this engine {native}: it runs under emulation (QEMU), slowly")
        options["platform"] = image_platform

    progress.step("Starting the container")
    container: Container | None = None
    launched: Launched | None = None
    try:
        with interrupts_held():
            container = _create(client, image, options)
        _put_token(container, token)
        _start(container, port)
        check_running(container)
        host_port = published_port(container)
        if host_port is None:
            raise LaunchError(
                f"The engine published no host port for container {name}; check `docker port {name}` and try again."
            )
        notebook = labels.get(NOTEBOOK_LABEL) or None
        launched = Launched(
            container=container.id or "",
            name=name,
            image=image,
            url=lab_url(host_port, token, notebook, mounted=mount is not None),
            port=host_port,
            token=token,
            notebook=notebook,
        )
        write_record(launched)
        progress.step("Waiting for Jupyter to answer")
        waited = wait_until_ready(container, host_port, token, timeout)
        progress.log(f"Jupyter answered {waited:.2f} s after the container started")
    except BaseException:  # KeyboardInterrupt included: nothing may be left running
        with interrupts_held():
            _discard(client, container, name)
        if launched is not None:
            remove_record(launched.container)
        raise
    return launched


def run_options(
    labels: Mapping[str, str],
    token: str,
    *,
    name: str,
    port: int | None = None,
    mount: Path | None = None,
    gpus: Sequence[str | int] | None = None,
    memory: str | None = None,
    cpus: float | None = None,
) -> dict[str, Any]:
    """The keyword arguments for ``client.containers.create``: the launch defaults of DESIGN §4."""
    options: dict[str, Any] = {
        "command": [
            "jupyter",
            "lab",
            "--ip=0.0.0.0",
            f"--port={JUPYTER_PORT}",
            "--no-browser",
            f"--ServerApp.root_dir={HOME}",
        ],
        # The token itself goes into TOKEN_FILE before the start (see _put_token); an empty JUPYTER_TOKEN,
        # which Jupyter reads first, keeps an image's own from taking its place.
        "environment": {"JUPYTER_TOKEN": "", "JUPYTER_TOKEN_FILE": TOKEN_FILE},
        "name": name,
        "detach": True,
        "ports": {f"{JUPYTER_PORT}/tcp": ("127.0.0.1", port)},  # None: the engine picks a free port
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "init": True,
        "user": JOVYAN,
        "labels": {
            MANAGED_LABEL: "true",
            CAPSULE_HASH_LABEL: labels.get(CAPSULE_HASH_LABEL, ""),
            NOTEBOOK_LABEL: labels.get(NOTEBOOK_LABEL, ""),
            PORT_LABEL: str(JUPYTER_PORT),
        },
    }
    if mount is not None:
        options["volumes"] = {str(mount): {"bind": WORK_DIR, "mode": "rw"}}
    if gpus is not None:
        options["device_requests"] = [gpu_request(gpus)]
    if memory is not None:
        options["mem_limit"] = memory
    if cpus is not None:
        options["nano_cpus"] = round(cpus * 1e9)
    return options


def gpu_request(gpus: Sequence[str | int]) -> Any:
    from docker.types import DeviceRequest

    ids = [str(gpu) for gpu in gpus]
    if not ids or "all" in ids:
        return DeviceRequest(count=-1, capabilities=[["gpu"]])
    return DeviceRequest(device_ids=ids, capabilities=[["gpu"]])


def image_labels(client: DockerClient, image: str) -> dict[str, str]:
    from docker.errors import APIError, ImageNotFound

    try:
        found = client.images.get(image)
    except ImageNotFound:
        raise LaunchError(f"The image {image} is not on this machine; build it first with `envcapsule build`.") from None
    except APIError as error:
        raise LaunchError(
            f"The Docker engine could not look up the image {image} ({engine_reason(error)}); check its name."
        ) from error
    return dict(found.labels or {})


def container_name(labels: Mapping[str, str]) -> str:
    """A unique, readable name: envcapsule-<capsule hash prefix>-<random>."""
    prefix = re.sub(r"[^a-zA-Z0-9]", "", labels.get(CAPSULE_HASH_LABEL, ""))[:12] or "image"
    return f"envcapsule-{prefix}-{secrets.token_hex(3)}"


def checked_mount(mount: Path, progress: Progress) -> Path:
    folder = mount.expanduser().resolve()
    if not folder.is_dir():
        raise LaunchError(f"The folder to mount, {mount}, does not exist or is not a folder; pass the notebook's folder.")
    mode = folder.stat()
    if sys.platform == "linux" and mode.st_uid != 1000 and not mode.st_mode & stat.S_IWOTH:
        progress.log(f"{folder} is not writable by uid 1000, the notebook user in the container; saving there may fail")
    return folder


def _foreign_platform(client: DockerClient, labels: dict[str, str]) -> tuple[str, str] | None:
    """(the image's platform, the engine's) when an envcapsule image was built for another platform than the engine's."""
    from envcapsule.contract import PLATFORM_LABEL
    from envcapsule.image.build import engine_platform

    wanted = labels.get(PLATFORM_LABEL)
    if not wanted:
        return None
    native = engine_platform(client)
    return (wanted, native) if wanted != native else None


def _create(client: DockerClient, image: str, options: dict[str, Any]) -> Container:
    from docker.errors import APIError, ImageNotFound

    try:
        return client.containers.create(image, **options)
    except ImageNotFound:
        raise LaunchError(f"The image {image} is not on this machine; build it first with `envcapsule build`.") from None
    except APIError as error:
        text = engine_reason(error, whole=True)
        _raise_gpu_refusal(text, error)
        raise LaunchError(f"The Docker engine refused to create a container from {image} ({text}).") from error


def token_archive(token: str) -> bytes:
    """A tar of TOKEN_FILE holding ``token`` (no newline: Jupyter reads the file as it is), readable by uid 1000 only."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo(TOKEN_DIR.strip("/"))
        folder.type, folder.mode = tarfile.DIRTYPE, 0o700
        data = token.encode()
        file = tarfile.TarInfo(TOKEN_FILE.strip("/"))
        file.size, file.mode = len(data), 0o400
        for entry in (folder, file):
            entry.uid = entry.gid = NB_UID
        archive.addfile(folder)
        archive.addfile(file, io.BytesIO(data))
    return buffer.getvalue()


def _put_token(container: Container, token: str) -> None:
    from docker.errors import APIError

    try:
        container.put_archive("/", token_archive(token))
    except APIError as error:
        raise LaunchError(
            f"The Docker engine could not give container {container.name} its token file ({engine_reason(error)}); "
            "check `docker info` and try again."
        ) from error


def _start(container: Container, port: int | None) -> None:
    from docker.errors import APIError

    try:
        container.start()
    except APIError as error:
        text = engine_reason(error, whole=True)
        _raise_gpu_refusal(text, error)
        if "port is already allocated" in text or "address already in use" in text:
            raise LaunchError(
                f"Port {port} on 127.0.0.1 is already in use; choose another with `--port`, "
                "or leave `--port` out to let the engine pick a free one."
            ) from None
        raise LaunchError(f"The Docker engine could not start container {container.name} ({text}).") from error


def _raise_gpu_refusal(text: str, error: Exception) -> None:
    """Docker decides at start whether it can give GPUs (the NVIDIA hook is invisible beforehand); say so as GpuError."""
    refusal = gpu_refusal(text)
    if refusal is not None:
        raise refusal from error


def _discard(client: DockerClient, container: Container | None, name: str) -> None:
    """Remove the container (by handle, or by its unique name if creation was interrupted)."""
    from docker.errors import APIError, NotFound

    try:
        target = container if container is not None else client.containers.get(name)
        target.remove(force=True, v=True)
    except (NotFound, APIError):
        pass
