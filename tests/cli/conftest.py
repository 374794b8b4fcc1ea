"""The `envcapsule` command as a user types it: the installed console script, run as a subprocess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.shell import TINY_NOTEBOOK, envcapsule, ok
from tests.support import BASE_IMAGE, debian_venv


@pytest.fixture(scope="session")
def tiny_kernel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smallest kernel environment a notebook runs in: Debian's python3 with ipykernel."""
    return debian_venv(tmp_path_factory.mktemp("tiny-kernel"), "ipykernel")


@pytest.fixture(scope="session")
def tiny_notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("project") / "tiny.ipynb"
    path.write_text(json.dumps(TINY_NOTEBOOK, indent=1))
    return path


@pytest.fixture(scope="session")
def tiny_capsule(tiny_notebook: Path, tiny_kernel: Path, shared_cache: Path, docker_client: Any) -> Iterator[dict[str, Any]]:
    """`envcapsule snapshot` then `envcapsule build` of the tiny notebook; its image is removed afterwards."""
    ok(envcapsule("snapshot", tiny_notebook, "--python", tiny_kernel, "--json", cache=shared_cache))
    built = ok(envcapsule("build", tiny_notebook, "--base-image", BASE_IMAGE, "--json", cache=shared_cache)).json()
    yield built
    import docker.errors

    for container in docker_client.containers.list(all=True, filters={"ancestor": built["image_id"]}):
        container.remove(force=True)  # a test that failed before its own stop
    try:
        docker_client.images.remove(built["image_id"], force=True)
    except docker.errors.ImageNotFound:
        pass  # a test removed it already (push and pull by digest, an import that replaced it)
