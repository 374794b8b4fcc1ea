"""A base image without Python (as the nvidia/cuda runtime images are) gets a standalone CPython.

The base and the standalone build are made offline (tests/pythonbuilds.py says how); uv
fetches the build through its downloads table, checks its sha256 and unpacks it, and
envcapsule puts it into the image.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEBIAN_PYTHON, require
from tests.integration.conftest import BASE_IMAGE, debian_venv, installed
from tests.pythonbuilds import KEY, STDLIB, downloads_table, make_no_python_image, standalone_archive

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]


def envcapsule(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envcapsule", *map(str, args), "--json"], env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def no_python_image(docker_client: Any) -> str:
    return make_no_python_image(docker_client, BASE_IMAGE)


@pytest.fixture(scope="module")
def small_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return debian_venv(tmp_path_factory.mktemp("small-kernel"), "tabulate==0.9.0", "ipykernel")


@pytest.fixture(scope="module")
def uv_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    require(DEBIAN_PYTHON.exists() and STDLIB.is_dir(), "Debian's python3.11 and its standard library are needed")
    folder = tmp_path_factory.mktemp("python-builds")
    archive = standalone_archive(folder)
    return archive, downloads_table(folder, archive)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, small_env: Path, shared_cache: Path) -> Path:
    notebook = tmp_path_factory.mktemp("gpu-project") / "quickstart.ipynb"
    shutil.copy(ROOT / "notebooks" / "quickstart.ipynb", notebook)
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(shared_cache)}
    done = envcapsule("snapshot", notebook, "--python", small_env, env=env)
    assert done.returncode == 0, done.stderr
    return notebook


@pytest.fixture(scope="module")
def built(
    project: Path, no_python_image: str, uv_setup: tuple[Path, Path], shared_cache: Path, docker_client: Any
) -> dict[str, Any]:
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(shared_cache), "UV_PYTHON_DOWNLOADS_JSON_URL": str(uv_setup[1])}
    done = envcapsule("build", project, "--base-image", no_python_image, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    yield result
    docker_client.images.remove(result["image_id"], force=True)


def in_image(docker_client: Any, image: str, script: str, user: str = "1000") -> str:
    output = docker_client.containers.run(
        image, ["sh", "-c", script], entrypoint=[], user=user, remove=True, network_disabled=True
    )
    return output.decode().strip()


def test_the_base_really_has_no_python(no_python_image: str, docker_client: Any) -> None:
    assert in_image(docker_client, no_python_image, "command -v python3 python3.11 || echo none") == "none"
    assert in_image(docker_client, no_python_image, "id -nu 1000") == "ubuntu"


def test_build_adds_the_standalone_python_and_records_it(built: dict[str, Any], docker_client: Any) -> None:
    assert (built["python_build"], built["python_in_base"]) == (KEY, "3.11.2")
    assert docker_client.images.get(built["image"]).labels["envcapsule.python-build"] == KEY
    kernel = in_image(
        docker_client,
        built["image"],
        "/opt/envcapsule/kernel/bin/python -c 'import sys, ssl; print(sys.version.split()[0], sys.base_prefix)'",
    )
    assert kernel == "3.11.2 /opt/envcapsule/python"


def test_uid_1000_is_jovyan_and_owns_home(built: dict[str, Any], docker_client: Any) -> None:
    assert in_image(
        docker_client, built["image"], "id -nu; echo $HOME; stat -c %U /home/jovyan; getent passwd ubuntu || true"
    ) == ("jovyan\n/home/jovyan\njovyan")


def test_kernel_environment_equals_the_capture(built: dict[str, Any], small_env: Path, docker_client: Any) -> None:
    listing = in_image(
        docker_client,
        built["image"],
        "/opt/envcapsule/server/bin/python -m pip --python /opt/envcapsule/kernel/bin/python list --format=json --disable-pip-version-check",
    )
    assert {item["name"].lower().replace("_", "-"): item["version"] for item in json.loads(listing)} == installed(small_env)


def test_it_launches_and_serves_jupyter(built: dict[str, Any], shared_cache: Path, docker_client: Any) -> None:
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(shared_cache)}
    done = envcapsule("launch", built["image"], "--no-browser", env=env)
    assert done.returncode == 0, done.stderr
    launched = json.loads(done.stdout)
    try:
        url = f"http://127.0.0.1:{launched['port']}/api/status?token={launched['token']}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
    finally:
        docker_client.containers.get(launched["container"]).remove(force=True)


def test_a_build_whose_hash_does_not_match_is_refused(
    project: Path, no_python_image: str, uv_setup: tuple[Path, Path], tmp_path: Path, shared_cache: Path
) -> None:
    archive = uv_setup[0]
    wrong = downloads_table(tmp_path, archive, sha256="0" * 64)
    cache = tmp_path / "cache"
    shutil.copytree(shared_cache / "wheels", cache / "wheels") if (shared_cache / "wheels").is_dir() else None
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(cache), "UV_PYTHON_DOWNLOADS_JSON_URL": str(wrong)}
    done = envcapsule("build", project, "--base-image", no_python_image, "--no-cache", env=env)
    assert done.returncode != 0
    error = json.loads(done.stdout)["error"]
    assert error.startswith(
        "uv could not fetch a standalone Python (Failed to install cpython-3.11.2-linux-x86_64-gnu; Hash mismatch"
    )
    assert not (cache / "pythons" / KEY).exists()
