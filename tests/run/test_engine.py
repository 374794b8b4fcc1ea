"""connect(): each way of not reaching a Docker engine ends in its own sentence."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from envcapsule import engine
from envcapsule.engine import EngineError, connect, explain_connection_error


@pytest.fixture
def no_sockets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A host with none of the usual engine sockets and no DOCKER_HOST."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine, "DEFAULT_SOCKET", tmp_path / "var-run-docker.sock")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def refusing_socket(tmp_path: Path) -> Iterator[Path]:
    """A unix socket file with nobody listening: what a stopped dockerd leaves behind."""
    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
    yield path


def test_no_engine_at_all(no_sockets: Path) -> None:
    with pytest.raises(EngineError) as raised:
        connect()

    assert str(raised.value) == (
        "No Docker engine was found (no /var/run/docker.sock and DOCKER_HOST is not set); install Docker Engine "
        "or Docker Desktop, or point DOCKER_HOST at Podman's socket."
    )


def test_an_installed_engine_that_is_not_running(refusing_socket: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{refusing_socket}")

    with pytest.raises(
        EngineError, match=r"installed but not running \(connection refused\); start it with `sudo systemctl start docker`"
    ):
        connect(timeout=2)


def test_docker_host_naming_a_socket_that_does_not_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/gone.sock")

    with pytest.raises(EngineError, match="the socket does not exist"):
        connect(timeout=2)


def test_a_rootless_engine_socket_is_found_when_the_system_one_is_absent(no_sockets: Path, refusing_socket: Path) -> None:
    assert engine.find_socket() == refusing_socket  # $XDG_RUNTIME_DIR/docker.sock, as rootless Docker makes it


def test_permission_denied_says_to_join_the_docker_group() -> None:
    try:
        try:
            raise PermissionError(13, "Permission denied")
        except PermissionError as cause:
            raise ConnectionError("Connection aborted.") from cause
    except ConnectionError as error:
        message = explain_connection_error(error, "unix:///var/run/docker.sock", 10)

    assert "permission denied" in message and "sudo usermod -aG docker $USER" in message
    assert "\n" not in message


def test_a_missing_docker_sdk_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)  # makes `import docker` raise ImportError

    with pytest.raises(EngineError, match=r"install it with `pip install docker`"):
        connect()
