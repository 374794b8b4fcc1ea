"""`envcapsule launch --memory --cpus` and `envcapsule ps` with live resource use, typed at a shell, on the real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.shell import envcapsule, ok

pytestmark = pytest.mark.integration


def test_ps_shows_what_a_limited_container_uses(
    tiny_notebook: Path, tiny_capsule: dict[str, Any], shared_cache: Path, docker_client: Any
) -> None:
    launched = ok(
        envcapsule("launch", tiny_notebook, "--memory", "256m", "--cpus", "0.5", "--no-browser", "--json", cache=shared_cache)
    ).json()
    try:
        host = docker_client.containers.get(launched["container"]).attrs["HostConfig"]
        assert (host["Memory"], host["NanoCpus"]) == (256 * 2**20, 500_000_000)

        listed = {item["container"]: item for item in ok(envcapsule("ps", "--json", cache=shared_cache)).json()}
        usage = listed[launched["container"]]["usage"]
        assert usage["memory_limit_bytes"] == 256 * 2**20 and usage["cpus_limit"] == 0.5
        assert 0 < usage["memory_bytes"] < 256 * 2**20  # a running JupyterLab uses some, under its limit
        assert usage["cpu_seconds"] > 0 and usage["cpu_percent"] >= 0 and usage["uptime_seconds"] >= 0
        assert listed[launched["container"]]["notebook"] == "tiny.ipynb"

        shown = ok(envcapsule("ps", cache=shared_cache)).stdout
        assert f"{launched['name']}  {launched['image']}\n  notebook tiny.ipynb\n  cpu " in shown
        assert " / 256.0 MiB  up " in shown
    finally:
        ok(envcapsule("stop", launched["name"], cache=shared_cache))


def test_a_capsules_sbom_names_what_pip_lists_in_its_image(
    tiny_notebook: Path, tiny_capsule: dict[str, Any], docker_client: Any
) -> None:
    import json

    from envcapsule.sbom import environment_of, sbom_components

    document = (tiny_notebook.with_name("tiny.capsule") / "sbom.cdx.json").read_text()
    kernel = {
        (c["name"].lower(), c["version"])
        for c in sbom_components(document)
        if c["type"] == "library" and environment_of(c) == "kernel" and c.get("purl", "").startswith("pkg:pypi/")
    }
    debs = {c["name"] for c in sbom_components(document) if c.get("purl", "").startswith("pkg:deb/")}
    assert "libstdc++6" in debs  # the system packages the kernel's wheels link against are named too
    server = {
        (c["name"].lower(), c["version"])
        for c in sbom_components(document)
        if c["type"] == "library" and environment_of(c) == "server-environment"
    }

    def pip_list(python: str) -> set[tuple[str, str]]:
        command = [python, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"]
        listed = docker_client.containers.run(tiny_capsule["image"], command, remove=True, entrypoint=[], stderr=False)
        return {(item["name"].lower().replace("_", "-"), item["version"]) for item in json.loads(listed)}

    assert kernel == pip_list("/opt/envcapsule/kernel/bin/python")
    assert len(server) > 50 and server <= pip_list("/opt/envcapsule/server/bin/python")  # JupyterLab and its dependencies
