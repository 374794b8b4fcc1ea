"""Two different capsules with the same server lock share the server environment's layers, on the real engine.

The shared stages (the server builder stage, and the image's start: base, user, server
environment) are built on their own first, one build at a time per server lock, and tagged
envcapsule/server:KEY; a capsule's Dockerfile starts from those two images by id, so removing
every capsule image keeps them. The kernel's wheels are installed on the host with uv (which
never reaches the image) and copied straight into the kernel environment.
`build --server minimal` makes a slimmer image with JupyterLab alone, which still launches.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.cli.shell import envcapsule, ok
from tests.support import BASE_IMAGE, debian_venv, local_project, run

pytestmark = pytest.mark.integration
NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "a1", "metadata": {}, "outputs": [], "source": "print(1)"}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}
SERVER_STAGE = ("COPY installer/ /tmp/envcapsule/installer/", "COPY server/ /tmp/envcapsule/server/", "RUN python3 -m venv /opt/")
START = ("RUN if ! id -u jovyan", "ENV HOME=", "COPY --from=server /opt/envcapsule/server /opt/envcapsule/server")


def build_capsule(root: Path, package: str, cache: Path) -> dict[str, Any]:
    """A capsule of a kernel environment with ``package`` and a local package new on every run, built on the base image."""
    python = debian_venv(root, package)
    project = local_project(root / "src", f"fresh{root.name}")
    (project / project.name / "__init__.py").write_text(f"TOKEN = {uuid.uuid4().hex!r}\n")
    run(python, "-m", "pip", "install", "--quiet", project)
    notebook = root / "notebook.ipynb"
    notebook.write_text(json.dumps(NOTEBOOK))
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(cache)}
    run(sys.executable, "-m", "envcapsule", "snapshot", notebook, "--python", python, "--json", env=env)
    run(sys.executable, "-m", "envcapsule", "build", notebook, "--base-image", BASE_IMAGE, "--json", env=env)
    return {**json.loads((root / "notebook.capsule" / "build.json").read_text()), "notebook": str(notebook)}


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path, docker_client: Any) -> Any:
    first = build_capsule(tmp_path_factory.mktemp("a"), "six", shared_cache)
    docker_client.images.remove(first["image_id"], force=True)  # as `docker rmi` does: the shared images must stay
    second = build_capsule(tmp_path_factory.mktemp("b"), "tabulate", shared_cache)
    yield [first, second]
    docker_client.images.remove(second["image_id"], force=True)


def test_the_second_capsule_reuses_the_server_layers(two_builds: list[dict[str, Any]], docker_client: Any) -> None:
    first, second = two_builds
    assert first["server_lock_sha256"] == second["server_lock_sha256"]
    assert first["image_id"] != second["image_id"]
    assert second["server_image_id"] == first["server_image_id"] != ""
    # The second found both shared images as a build recorded them: no server build at all, nothing sent.
    assert second["server_reused"] is True and second["server_steps"] == []
    built_alone = [s for s in first["server_steps"] if not s["instruction"].startswith("FROM ")]
    if built_alone:  # the module's first build made them (an earlier test with this cache may have)
        assert [s["instruction"].startswith(i) for s, i in zip(built_alone, (*SERVER_STAGE, *START), strict=True)] == [True] * 6
    # The capsule's own build starts from the shared start by id (the host installed its kernel: no builder stage).
    froms = [s["instruction"] for s in second["steps"] if s["instruction"].startswith("FROM ")]
    assert froms == [f"FROM {second['server_image_id']}"]
    assert not [s for s in second["steps"] if s["instruction"].startswith((*SERVER_STAGE, *START))]
    tags = docker_client.images.get(second["server_image_id"]).tags
    assert [t for t in tags if t.startswith("envcapsule/server:")], tags


def test_the_new_kernel_layer_is_installed_on_the_host_and_copied_in(two_builds: list[dict[str, Any]]) -> None:
    second = two_builds[1]
    steps = {s["instruction"]: s["cached"] for s in second["steps"]}
    assert second["kernel_install"] == "host" and second["installer"] == "uv"
    assert steps["COPY kernel-rest/ /opt/envcapsule/kernel/"] is False  # tabulate, where the first had six
    assert steps["COPY kernel-local/ /opt/envcapsule/kernel/"] is False  # its own local package, new
    assert not [i for i in steps if "/tmp/envcapsule/kernel-" in i or " AS kernel-" in i]  # no builder stage for the kernel
    assert not any("pip" in warning for warning in second["warnings"])


def test_uv_stays_out_of_the_image_and_installed_the_kernel_with_bytecode(
    two_builds: list[dict[str, Any]], docker_client: Any
) -> None:
    site = "/opt/envcapsule/kernel/lib/python3.11/site-packages"
    script = (
        "test ! -e /tmp/envcapsule/installer && ! command -v uv"
        f" && cat {site}/tabulate-*.dist-info/INSTALLER && echo"
        f" && ls {site}/tabulate/__pycache__"
        " && /opt/envcapsule/kernel/bin/tabulate --help | head -1"
        f" && /opt/envcapsule/kernel/bin/python -c 'import tabulate, sys; print(tabulate.__file__, sys.prefix)'"
    )
    output = docker_client.containers.run(
        two_builds[1]["image_id"], ["sh", "-c", script], entrypoint=[], remove=True, network_disabled=True, user="1000"
    ).decode()
    assert output.splitlines()[0] == "uv"
    assert any(name.endswith(".pyc") for name in output.split())  # bytecode compiled at install time
    assert "Usage: tabulate [options]" in output  # its console script runs the kernel's own interpreter
    assert f"{site}/tabulate/__init__.py /opt/envcapsule/kernel" in output


SERVER_MODULES = (
    "import importlib.util as u; print(*[n for n in ('jupyterlab', 'notebook', 'jupyterhub', 'nbval') if u.find_spec(n)])"
)


@pytest.fixture(scope="module")
def minimal(two_builds: list[dict[str, Any]], shared_cache: Path, docker_client: Any) -> Any:
    notebook = Path(two_builds[1]["notebook"])
    full_lock = (notebook.with_name("notebook.capsule") / "server.pylock.toml").read_bytes()
    done = ok(envcapsule("build", notebook, "--base-image", BASE_IMAGE, "--server", "minimal", "--json", cache=shared_cache))
    built = json.loads(done.stdout)
    yield {**built, "notebook": notebook, "full_lock": full_lock}
    docker_client.images.remove(built["image_id"], force=True)


def test_a_minimal_server_is_jupyterlab_alone_in_a_lighter_image(
    minimal: dict[str, Any], two_builds: list[dict[str, Any]], docker_client: Any
) -> None:
    capsule = minimal["notebook"].with_name("notebook.capsule")
    assert minimal["image"].endswith("-minimal") and minimal["server"] == "minimal"
    image = docker_client.images.get(minimal["image_id"])
    assert image.labels["envcapsule.server"] == "minimal"
    assert image.labels["envcapsule.capsule-hash"] == two_builds[1]["capsule_hash"]
    found = docker_client.containers.run(
        minimal["image_id"], ["/opt/envcapsule/server/bin/python", "-c", SERVER_MODULES], entrypoint=[], remove=True
    )
    assert found.decode().split() == ["jupyterlab"]
    full = docker_client.images.get(two_builds[1]["image_id"])
    assert image.attrs["Size"] < full.attrs["Size"] - 30 * 1024 * 1024, (image.attrs["Size"], full.attrs["Size"])
    assert 'requested = [\n    "jupyterlab>=4,<5",\n]' in (capsule / "server-minimal.pylock.toml").read_text()
    assert (capsule / "server.pylock.toml").read_bytes() == minimal["full_lock"]  # the full server's pin is untouched


def test_the_minimal_image_launches_and_the_full_one_is_still_the_default(
    minimal: dict[str, Any], two_builds: list[dict[str, Any]], shared_cache: Path, docker_client: Any
) -> None:
    import urllib.request

    launched = json.loads(ok(envcapsule("launch", minimal["image"], "--no-browser", "--json", cache=shared_cache)).stdout)
    try:
        base, token = launched["url"].split("/lab", 1)[0], launched["url"].split("token=", 1)[1]
        request = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the container's URL on 127.0.0.1
            assert answer.status == 200 and base.startswith("http://127.0.0.1:")
    finally:
        ok(envcapsule("stop", launched["container"], cache=shared_cache))
    again = json.loads(
        ok(envcapsule("build", minimal["notebook"], "--base-image", BASE_IMAGE, "--json", cache=shared_cache)).stdout
    )
    assert (again["image_id"], again["reused"], again["server"]) == (two_builds[1]["image_id"], True, "full")
