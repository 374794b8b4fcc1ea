"""The Docker engine connection: find the engine's socket, connect, and explain why not.

Any Docker-API engine works (Docker Engine, Docker Desktop, rootless Docker, Podman's
socket). ``docker`` is imported only here and only when connecting, so that importing
envcapsule stays fast and the kernel-side magic never loads it.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from envcapsule.errors import EngineError

if TYPE_CHECKING:
    from docker import DockerClient

DEFAULT_SOCKET = Path("/var/run/docker.sock")


def connect(timeout: float = 60) -> DockerClient:
    """A client for the engine named by DOCKER_HOST (or the usual sockets) that has answered a ping.

    ``timeout`` bounds each API request (streamed builds are not cut off by it).
    """
    try:
        import docker
    except ImportError:
        raise EngineError(
            "The docker Python package is not installed; install it with `pip install docker` to build and launch capsules."
        ) from None

    host = os.environ.get("DOCKER_HOST")
    found = None if host else find_socket()
    if not host and found is None:
        raise EngineError(
            "No Docker engine was found (no /var/run/docker.sock and DOCKER_HOST is not set); install Docker Engine "
            "or Docker Desktop, or point DOCKER_HOST at Podman's socket."
        )
    where = host or f"unix://{found}"
    if where.startswith("unix://"):
        check_unix_socket(where, timeout)
    try:
        # from_env also honours DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for a remote DOCKER_HOST.
        client = docker.from_env(timeout=timeout) if host else docker.DockerClient(base_url=where, timeout=timeout)
    except docker.errors.DockerException as error:
        raise EngineError(explain_connection_error(error, where, timeout)) from error
    try:
        client.ping()
    except (docker.errors.DockerException, OSError) as error:
        client.close()
        raise EngineError(explain_connection_error(error, where, timeout)) from error
    return client


def find_socket() -> Path | None:
    """The first engine socket that exists: the system one, rootless Docker, Docker Desktop, Podman."""
    candidates = [DEFAULT_SOCKET]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        candidates.append(Path(runtime) / "docker.sock")
    candidates.append(Path.home() / ".docker" / "run" / "docker.sock")
    if runtime:
        candidates.append(Path(runtime) / "podman" / "podman.sock")
    return next((path for path in candidates if path.exists()), None)


def check_unix_socket(where: str, timeout: float) -> None:
    """Connect once ourselves: the SDK leaks its socket when a unix connect fails, and we want the errno anyway."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(where.removeprefix("unix://"))
        except OSError as error:
            raise EngineError(explain_connection_error(error, where, timeout)) from error


def explain_connection_error(error: BaseException, where: str, timeout: float) -> str:
    """One sentence for a failed connection, from the OS error at the root of the SDK's exception chain."""
    cause = _root_os_error(error)
    text = str(error)
    if isinstance(cause, PermissionError) or "Permission denied" in text:
        return (
            f"You are not allowed to use the Docker engine's socket ({where}: permission denied); add yourself to the "
            "docker group with `sudo usermod -aG docker $USER` and log in again (or run rootless Docker)."
        )
    if isinstance(cause, FileNotFoundError) or "No such file or directory" in text:
        return (
            f"No Docker engine is listening at {where} (the socket does not exist); start the engine it names, "
            "or unset DOCKER_HOST to use /var/run/docker.sock."
        )
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in text:
        return (
            f"The Docker engine at {where} is installed but not running (connection refused); start it with "
            "`sudo systemctl start docker` (or run dockerd), or start Docker Desktop or Podman's socket service."
        )
    if isinstance(cause, TimeoutError) or "timed out" in text.lower():
        return (
            f"The Docker engine at {where} did not answer within {timeout:g} s; check that it is healthy with "
            "`docker info` and try again."
        )
    return f"Could not talk to the Docker engine at {where} ({_first_line(text)}); check that it is running with `docker info`."


def _root_os_error(error: BaseException) -> OSError | None:
    """The OSError that the requests/urllib3 wrappers hide, found by walking the exception chain."""
    seen: set[int] = set()
    current: BaseException | None = error
    found: OSError | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            found = current
        current = current.__cause__ or current.__context__
    return found


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no reason given"


@contextlib.contextmanager
def engine_client(client: DockerClient | None = None) -> Iterator[DockerClient]:
    """The caller's client as it is, or a freshly connected one that is closed afterwards."""
    if client is not None:
        yield client
        return
    with contextlib.closing(connect()) as own:
        yield own


def engine_reason(error: BaseException, *, whole: bool = False) -> str:
    """What the Docker engine (or the registry behind it) said: one line for a sentence, or ``whole`` to match on."""
    text = str(getattr(error, "explanation", None) or error).strip()
    return text if whole else (text.splitlines() or ["no reason given"])[0][:200]
