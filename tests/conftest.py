"""Shared test policy (outside CI a missing dependency skips a test; under CI=true it fails) and the session fixtures
for real components: a kernel environment with real packages, one index cache, the Docker engine with its base image."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    BASE_IMAGE,
    DEBIAN_PYTHON,
    IN_CI,
    PACKAGES,
    REGISTRY_BINARY,
    debian_venv,
    free_port,
    local_project,
    require,
    run,
    wait_for,
)

__all__ = ["DEBIAN_PYTHON", "IN_CI", "require"]  # imported from here by many tests


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never share envcapsule's on-disk caches with the user's."""
    monkeypatch.setenv("ENVCAPSULE_CACHE_DIR", str(tmp_path_factory.mktemp("envcapsule-cache")))


@pytest.fixture
def no_pip_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip settings of this machine (PIP_* variables) never reach a capsule made in the test."""
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernel environment from Debian's python3: real packages, one local-folder and one editable install."""
    root = tmp_path_factory.mktemp("kernel")
    python = debian_venv(root, *PACKAGES)
    run(python, "-m", "pip", "install", "--quiet", local_project(root / "src", "localpkg"))
    run(python, "-m", "pip", "install", "--quiet", "-e", local_project(root / "src", "editpkg"))
    return python


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One envcapsule cache for the whole session, as a user's machine has."""
    return tmp_path_factory.mktemp("envcapsule-cache")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    try:
        from envcapsule.engine import connect

        client = connect()
    except Exception as error:  # noqa: BLE001 - any failure means no engine for these tests
        require(False, f"a running Docker engine is needed ({error}); run scripts/docker-setup")
        raise
    require(_has_image(client, BASE_IMAGE), f"the offline base image {BASE_IMAGE} is needed; run scripts/docker-setup")
    before = _shared_server_images(client)
    yield client
    # The shared server images (envcapsule/server:KEY) outlive capsule images by design; those the
    # session made go with it, so that repeated runs do not fill the disk.
    for tag in sorted(_shared_server_images(client) - before):
        try:
            client.images.remove(tag, force=True)
        except Exception:  # noqa: BLE001 - an image already gone, or still used by a container
            pass
    client.close()


def _shared_server_images(client: Any) -> set[str]:
    from envcapsule.image.build import SHARED_REPOSITORY

    return {tag for image in client.images.list(name=SHARED_REPOSITORY) for tag in image.tags}


def _has_image(client: Any, name: str) -> bool:
    import docker.errors

    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real image registry (Debian's docker-registry) on 127.0.0.1, which the engine pushes to without TLS."""
    require(REGISTRY_BINARY.exists(), "Debian's docker-registry package (/usr/bin/docker-registry) is needed for the push test")
    folder = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with (folder / "registry.log").open("w") as log:
        process = subprocess.Popen([str(REGISTRY_BINARY), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/v2/", timeout=30)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
