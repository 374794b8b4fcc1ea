"""`envcapsule launch NOTEBOOK`, the README's own example, typed as a user types it, on the real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.shell import envcapsule, ok
from tests.integration.conftest import http_status

pytestmark = pytest.mark.integration


def _launch(*args: str | Path, cache: Path) -> dict[str, Any]:
    result: dict[str, Any] = ok(envcapsule("launch", *args, "--no-browser", "--json", cache=cache)).json()
    return result


def _stop(name: str, cache: Path) -> None:
    stopped = ok(envcapsule("stop", name, "--json", cache=cache)).json()
    assert stopped["stopped"], stopped


def test_launch_notebook_serves_it(
    tiny_notebook: Path, tiny_capsule: dict[str, Any], shared_cache: Path, docker_client: Any
) -> None:
    launched = _launch(tiny_notebook, cache=shared_cache)
    try:
        assert launched["image"] == tiny_capsule["image"]
        assert launched["url"].startswith("http://127.0.0.1:")
        assert "/lab/tree/tiny.ipynb?token=" in launched["url"]
        assert http_status(launched["url"]) == 200
        container = docker_client.containers.get(launched["container"])
        assert container.attrs["HostConfig"].get("Binds") in (None, [])
        assert not container.attrs["HostConfig"].get("DeviceRequests")
    finally:
        _stop(launched["name"], shared_cache)


def test_launch_notebook_with_mount_binds_its_folder(
    tiny_notebook: Path, tiny_capsule: dict[str, Any], shared_cache: Path, docker_client: Any
) -> None:
    launched = _launch(tiny_notebook, "--mount", cache=shared_cache)
    try:
        assert "/lab/tree/work/tiny.ipynb?token=" in launched["url"]
        mounts = docker_client.containers.get(launched["container"]).attrs["Mounts"]
        assert [(m["Source"], m["Destination"], m["RW"]) for m in mounts] == [
            (str(tiny_notebook.parent), "/home/jovyan/work", True)
        ]
        assert http_status(launched["url"]) == 200
    finally:
        _stop(launched["name"], shared_cache)


def test_launch_notebook_with_gpus_none_requests_no_device(
    tiny_notebook: Path, tiny_capsule: dict[str, Any], shared_cache: Path, docker_client: Any
) -> None:
    launched = _launch(tiny_notebook, "--gpus", "none", cache=shared_cache)
    try:
        assert not docker_client.containers.get(launched["container"]).attrs["HostConfig"].get("DeviceRequests")
    finally:
        _stop(launched["name"], shared_cache)


def test_launch_image_with_mount_is_refused_in_one_sentence(tiny_capsule: dict[str, Any], shared_cache: Path) -> None:
    refused = envcapsule("launch", tiny_capsule["image"], "--mount", "--no-browser", cache=shared_cache)
    assert refused.code == 2  # a usage error, as argparse's own are
    assert "--mount binds a notebook's folder" in refused.stderr
    assert "Traceback" not in refused.stderr
