"""Snapshot -> build -> launch on a real Docker engine, with the image contract checked from outside.

The base image is the offline stand-in for python:3.11.2-slim-bookworm that
scripts/docker-setup makes with debootstrap; the kernel environment comes from Debian's
/usr/bin/python3, so its interpreter matches the image's exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import BASE_IMAGE, http_status, installed, run

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]


def envcapsule(*args: str | Path, cache: Path) -> dict[str, Any]:
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(cache)}
    return json.loads(run(sys.executable, "-m", "envcapsule", *args, "--json", env=env))


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("project") / "analysis.ipynb"
    shutil.copy(ROOT / "notebooks" / "data-analysis.ipynb", path)
    return path


@pytest.fixture(scope="module")
def built(notebook: Path, kernel_env: Path, shared_cache: Path, docker_client: Any) -> dict[str, Any]:
    envcapsule("snapshot", notebook, "--python", kernel_env, cache=shared_cache)
    result = envcapsule("build", notebook, "--base-image", BASE_IMAGE, cache=shared_cache)
    yield result
    docker_client.images.remove(result["image_id"], force=True)


@pytest.fixture(scope="module")
def launched(built: dict[str, Any], shared_cache: Path, docker_client: Any) -> dict[str, Any]:
    import docker.errors

    result = envcapsule("launch", built["image"], "--no-browser", cache=shared_cache)
    yield result
    try:
        docker_client.containers.get(result["container"]).remove(force=True)
    except docker.errors.NotFound:
        pass


def in_container(docker_client: Any, image: str, *command: str) -> str:
    output = docker_client.containers.run(image, list(command), entrypoint=[], remove=True, network_disabled=True)
    return output.decode()


def test_build_reports_the_tag_and_records_the_result(built: dict[str, Any], notebook: Path) -> None:
    capsule = notebook.with_name("analysis.capsule")
    assert built["image"] == f"envcapsule/analysis:{built['capsule_hash'][:12]}"
    assert built["image_id"].startswith("sha256:")
    assert json.loads((capsule / "build.json").read_text())["image_id"] == built["image_id"]
    assert (capsule / "Dockerfile").read_text().startswith("# envcapsule image for analysis.ipynb")


def test_image_labels(built: dict[str, Any], docker_client: Any) -> None:
    labels = docker_client.images.get(built["image"]).labels
    assert labels["envcapsule.capsule-hash"] == built["capsule_hash"]
    assert labels["envcapsule.python"] == "3.11.2"
    assert len(labels["envcapsule.pylock-sha256"]) == 64
    assert labels["org.opencontainers.image.title"] == "analysis.ipynb"


def test_kernel_environment_in_the_image_equals_the_capture(built: dict[str, Any], kernel_env: Path, docker_client: Any) -> None:
    listing = in_container(
        docker_client,
        built["image"],
        "/opt/envcapsule/server/bin/python",
        "-m",
        "pip",
        "--python",
        "/opt/envcapsule/kernel/bin/python",
        "list",
        "--format=json",
        "--disable-pip-version-check",
    )
    inside = {item["name"].lower().replace("_", "-"): item["version"] for item in json.loads(listing)}
    assert inside == installed(kernel_env)


def test_no_wheels_or_index_configuration_in_the_image(built: dict[str, Any], docker_client: Any) -> None:
    found = in_container(
        docker_client,
        built["image"],
        "sh",
        "-c",
        "find /opt/envcapsule /home/jovyan /tmp /etc /root \\( -name '*.whl' -o -name pip.conf \\) 2>/dev/null || true",
    )
    assert found.strip() == ""


def test_building_again_returns_the_same_image_at_once(built: dict[str, Any], notebook: Path, shared_cache: Path) -> None:
    again = envcapsule("build", notebook, "--base-image", BASE_IMAGE, cache=shared_cache)
    assert (again["image_id"], again["reused"]) == (built["image_id"], True)


def test_a_tag_moved_onto_another_image_is_not_trusted(
    built: dict[str, Any], notebook: Path, shared_cache: Path, docker_client: Any
) -> None:
    repository, tag = built["image"].rsplit(":", 1)
    docker_client.images.get(BASE_IMAGE).tag(repository, tag)  # what a foreign archive's RepoTags once did

    again = envcapsule("build", notebook, "--base-image", BASE_IMAGE, cache=shared_cache)

    assert again["reused"] is False and again["image_id"] == built["image_id"]  # rebuilt from the cache: the same image
    assert f"The image tagged {built['image']} did not carry this capsule's hash" in " ".join(again["warnings"])
    assert docker_client.images.get(built["image"]).id == built["image_id"]


def test_an_explicit_base_image_is_honoured_when_the_image_exists(
    built: dict[str, Any], notebook: Path, shared_cache: Path, docker_client: Any
) -> None:
    other = f"envcapsule-test/another-base:{uuid.uuid4().hex[:8]}"
    repository, tag = other.split(":")
    docker_client.images.get(BASE_IMAGE).tag(repository, tag)
    rebuilt = None
    try:
        rebuilt = envcapsule("build", notebook, "--base-image", other, cache=shared_cache)
        assert rebuilt["reused"] is False and rebuilt["base_image"] == other
        assert docker_client.images.get(built["image"]).labels["envcapsule.base-image"] == other
        assert envcapsule("build", notebook, "--base-image", other, cache=shared_cache)["reused"] is True
    finally:
        back = envcapsule("build", notebook, "--base-image", BASE_IMAGE, cache=shared_cache)
        docker_client.images.remove(other)
        if rebuilt is not None and rebuilt["image_id"] != built["image_id"]:
            docker_client.images.remove(rebuilt["image_id"], force=True)
    assert back["image_id"] == built["image_id"]


def test_launch_serves_jupyter_with_a_token_on_loopback_only(launched: dict[str, Any], docker_client: Any) -> None:
    port, token = launched["port"], launched["token"]
    assert http_status(f"http://127.0.0.1:{port}/api/status?token={token}") == 200
    assert http_status(f"http://127.0.0.1:{port}/api/status") == 403
    assert launched["url"] == f"http://127.0.0.1:{port}/lab/tree/analysis.ipynb?token={token}"
    attrs = docker_client.containers.get(launched["container"]).attrs
    assert attrs["NetworkSettings"]["Ports"]["8888/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    assert attrs["Config"]["User"] == "1000:1000"
    assert attrs["HostConfig"]["CapDrop"] == ["ALL"]
    assert token not in json.dumps(attrs)  # not in Args, Cmd, Env or Labels: JupyterLab read it from its token file
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert "jupyter-lab" in processes or "jupyter lab" in processes
    assert token not in processes


def test_the_notebook_runs_in_the_capsule_kernel(launched: dict[str, Any], docker_client: Any) -> None:
    container = docker_client.containers.get(launched["container"])
    code, output = container.exec_run(
        ["jupyter", "nbconvert", "--to", "notebook", "--execute", "--stdout", "analysis.ipynb"],
        user="1000",
        workdir="/home/jovyan",
    )
    assert code == 0, output.decode()[-2000:]
    executed = json.loads(output.decode()[output.decode().index("{") :])
    printed = ["".join(o["text"]) for c in executed["cells"] for o in c.get("outputs", []) if o.get("name") == "stdout"]
    assert any(text.startswith("weeks: 14, best week: 2026-01-25 (2948.85)") for text in printed)
    assert any(text.startswith("plotted 14 weeks") for text in printed)


def test_ps_lists_it_and_stop_removes_it(launched: dict[str, Any], shared_cache: Path, docker_client: Any) -> None:
    import docker.errors

    listed = envcapsule("ps", cache=shared_cache)
    ours = [item for item in listed if item["container"] == launched["container"]]
    assert [item["url"] for item in ours] == [launched["url"]]
    assert envcapsule("stop", launched["container"], cache=shared_cache)["stopped"] == [launched["container"]]
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(launched["container"])


def test_diff_names_a_package_upgraded_after_the_snapshot(built: dict[str, Any], notebook: Path, kernel_env: Path) -> None:
    run(kernel_env, "-m", "pip", "install", "--quiet", "tabulate==0.8.10")
    try:
        drift = subprocess.run(
            [sys.executable, "-m", "envcapsule", "diff", notebook, "--python", kernel_env, "--json"],
            capture_output=True,
            text=True,
        )
    finally:
        run(kernel_env, "-m", "pip", "install", "--quiet", "tabulate==0.9.0")
    assert drift.returncode == 1
    assert json.loads(drift.stdout)["packages"] == {"tabulate": {"kind": "changed", "old": "0.9.0", "new": "0.8.10"}}


def test_one_small_package_change_rebuilds_only_the_layers_after_it(
    built: dict[str, Any], notebook: Path, kernel_env: Path, shared_cache: Path, docker_client: Any, tmp_path: Path
) -> None:
    # The editable package gets new content, so its vendored wheel (and that layer) is new on every run.
    source = kernel_env.parents[2] / "src" / "editpkg" / "editpkg" / "__init__.py"
    original = source.read_text()
    source.write_text(original + f"CHANGED = {uuid.uuid4().hex!r}\n")
    try:
        changed = tmp_path / "analysis.ipynb"
        shutil.copy(notebook, changed)
        envcapsule("snapshot", changed, "--python", kernel_env, cache=shared_cache)
        rebuilt = envcapsule("build", changed, "--base-image", BASE_IMAGE, cache=shared_cache)
    finally:
        source.write_text(original)
    try:
        steps = {s["instruction"]: s["cached"] for s in rebuilt["steps"]}
        assert rebuilt["image"] != built["image"]
        assert rebuilt["server_reused"] is True and rebuilt["server_steps"] == []  # the shared images, no server build
        assert f"FROM {rebuilt['server_image_id']}" in steps  # the shared start: base, user, server environment
        assert rebuilt["kernel_install"] == "host"  # installed on the host, each layer copied straight in
        assert steps["COPY kernel-large/ /opt/envcapsule/kernel/"] is True
        assert steps["COPY kernel-rest/ /opt/envcapsule/kernel/"] is True  # the index's packages did not move
        assert steps["COPY kernel-local/ /opt/envcapsule/kernel/"] is False  # the capsule's own, edited
    finally:
        docker_client.images.remove(rebuilt["image_id"], force=True)
