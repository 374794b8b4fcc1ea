"""Two different capsules with the same server lock share the server environment's layers, on the real engine.

The server stage is built on its own first, one build at a time per server lock, so a
capsule's build finds every server layer in the engine's cache; the installs go through uv,
which stays in the builder stages.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support import BASE_IMAGE, debian_venv, local_project, run

pytestmark = pytest.mark.integration
NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "a1", "metadata": {}, "outputs": [], "source": "print(1)"}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}
SERVER_STAGE = ("COPY installer/ /tmp/envcapsule/installer/", "COPY server/ /tmp/envcapsule/server/", "RUN python3 -m venv /opt/")


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
    return json.loads((root / "notebook.capsule" / "build.json").read_text())


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path, docker_client: Any) -> Any:
    records = [
        build_capsule(tmp_path_factory.mktemp(name), package, shared_cache) for name, package in (("a", "six"), ("b", "tabulate"))
    ]
    yield records
    for record in records:
        docker_client.images.remove(record["image_id"], force=True)


def test_the_second_capsule_reuses_the_server_layers(two_builds: list[dict[str, Any]]) -> None:
    first, second = two_builds
    assert first["server_lock_sha256"] == second["server_lock_sha256"]
    assert first["image_id"] != second["image_id"]
    assert second["server_image_id"] == first["server_image_id"] != ""
    built_alone = [s for s in second["server_steps"] if not s["instruction"].startswith("FROM ")]
    assert [s["instruction"][:20] for s in built_alone] == [i[:20] for i in SERVER_STAGE]
    assert all(s["cached"] for s in built_alone), built_alone
    steps = {s["instruction"]: s["cached"] for s in second["steps"]}
    in_build = [i for i in steps if i.startswith(SERVER_STAGE)]
    assert len(in_build) == 3 and all(steps[i] for i in in_build), steps
    assert steps["COPY --from=server /opt/envcapsule/server /opt/envcapsule/server"] is True


def test_the_new_kernel_layer_is_built_with_uv(two_builds: list[dict[str, Any]]) -> None:
    second = two_builds[1]
    steps = {s["instruction"]: s["cached"] for s in second["steps"]}
    rest = [i for i in steps if i.startswith("RUN ") and i.endswith(" /tmp/envcapsule/kernel-rest")]
    assert rest and not any(steps[i] for i in rest), steps
    assert second["installer"] == "uv"
    assert not any("pip" in warning for warning in second["warnings"])


def test_uv_stays_in_the_builder_stages_and_installed_the_kernel(two_builds: list[dict[str, Any]], docker_client: Any) -> None:
    script = (
        "test ! -e /tmp/envcapsule/installer && ! command -v uv"
        " && cat /opt/envcapsule/kernel/lib/python3.11/site-packages/tabulate-*.dist-info/INSTALLER && echo"
        " && ls /opt/envcapsule/kernel/lib/python3.11/site-packages/tabulate/__pycache__"
    )
    output = docker_client.containers.run(
        two_builds[1]["image_id"], ["sh", "-c", script], entrypoint=[], remove=True, network_disabled=True
    ).decode()
    assert output.splitlines()[0] == "uv"
    assert any(name.endswith(".pyc") for name in output.split())  # bytecode compiled at install time
