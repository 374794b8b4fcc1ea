"""A conda environment end to end on a real Docker engine: capture, lock, build, compare inside, verify, diff.

The environment comes from a local conda channel (conda-forge cannot be reached here): a
``python`` package around Debian's python3.11, a noarch package with a dist-info and a package
with a prefix placeholder, created offline with py-rattler; ipykernel and tabulate are then
installed into it with pip from the real package index. The base image holds the same Debian
python, so the conda prefix runs in the image as it does here.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conda.channel import SUBDIR, create_environment, make_channel
from tests.conda.conftest import records_of, require_conda_tools
from tests.integration.conftest import BASE_IMAGE, run

pytestmark = pytest.mark.integration

KERNEL = "/opt/envcapsule/kernel"
NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        {
            "cell_type": "code",
            "id": "packages",
            "metadata": {},
            "execution_count": 1,
            "source": "import tabulate, tinypkg\nprint(tinypkg.GREETING, tabulate.__version__)",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "hello from a conda package 0.9.0\n"}],
        },
        {
            "cell_type": "code",
            "id": "table",
            "metadata": {},
            "execution_count": 2,
            "source": "print(tabulate.tabulate([['conda', 3]], headers=['manager', 'n']))",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "manager      n\n---------  ---\nconda        3\n"}],
        },
    ],
}


def envcapsule(*args: str | Path, cache: Path) -> dict[str, Any]:
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(cache)}
    return json.loads(run(sys.executable, "-m", "envcapsule", *args, "--json", env=env))


def in_container(docker_client: Any, image: str, *command: str) -> str:
    return docker_client.containers.run(image, list(command), entrypoint=[], remove=True, network_disabled=True).decode()


@pytest.fixture(scope="module")
def conda_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_conda_tools()
    return make_channel(tmp_path_factory.mktemp("conda-channel"))


@pytest.fixture(scope="module")
def conda_python(tmp_path_factory: pytest.TempPathFactory, conda_channel: Path) -> Path:
    """A conda environment from the local channel, plus pip packages from the real index."""
    root = tmp_path_factory.mktemp("conda-kernel")
    python = create_environment(conda_channel, root / "env", ["python", "tinypkg", "libdata"], root / "rattler-cache")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "ipykernel", "tabulate==0.9.0")
    return python


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("conda-project") / "condanb.ipynb"
    path.write_text(json.dumps(NOTEBOOK, indent=1) + "\n")
    return path


@pytest.fixture(scope="module")
def built(notebook: Path, conda_python: Path, shared_cache: Path, docker_client: Any) -> Iterator[dict[str, Any]]:
    envcapsule("snapshot", notebook, "--python", conda_python, cache=shared_cache)
    result = envcapsule("build", notebook, "--base-image", BASE_IMAGE, cache=shared_cache)
    yield result
    docker_client.images.remove(result["image_id"], force=True)


def captured(notebook: Path) -> dict[str, Any]:
    return json.loads((notebook.with_name("condanb.capsule") / "facts.json").read_text())


def test_the_capsule_locks_the_conda_records_and_the_pip_rest(built: dict[str, Any], notebook: Path) -> None:
    capsule = notebook.with_name("condanb.capsule")
    manifest = (capsule / "capsule.toml").read_text()
    assert 'environment_kind = "conda"' in manifest and f'platform = "{SUBDIR}"' in manifest
    lock = (capsule / "conda-lock.yml").read_text()
    assert lock.count("manager: conda") == 3 and "name: ipykernel\n" in lock and "name: tinypkg\n" in lock
    assert "tinypkg" not in (capsule / "pylock.toml").read_text()


def test_conda_records_in_the_image_equal_the_capture(built: dict[str, Any], notebook: Path, docker_client: Any) -> None:
    # Read as the notebook's user, as `conda list` in the running image would.
    script = (
        "import json, pathlib; print(json.dumps([json.loads(p.read_text()) "
        f"for p in sorted(pathlib.Path('{KERNEL}/conda-meta').glob('*.json'))]))"
    )
    inside = json.loads(in_container(docker_client, built["image"], "python3", "-c", script))
    fields = ("name", "version", "build", "build_number", "channel", "subdir", "url", "md5", "sha256")

    def listing(records: list[dict[str, Any]]) -> dict[str, Any]:
        return {r["name"]: ({k: r.get(k) for k in fields}, sorted(r.get("depends") or [])) for r in records}

    assert listing(inside) == listing(captured(notebook)["conda"]["records"])


def test_pip_sees_the_same_distributions_in_the_image(built: dict[str, Any], notebook: Path, docker_client: Any) -> None:
    server_python = "/opt/envcapsule/server/bin/python"
    output = in_container(
        docker_client, built["image"], server_python, "-m", "pip", "--python", f"{KERNEL}/bin/python", "list", "--format=json"
    )
    inside = {item["name"].lower().replace("_", "-"): item["version"] for item in json.loads(output)}
    assert inside == {d["name"]: d["version"] for d in captured(notebook)["distributions"]}
    assert inside["tinypkg"] == "1.0" and inside["tabulate"] == "0.9.0"


def test_the_prefix_placeholder_names_the_image_prefix(built: dict[str, Any], docker_client: Any) -> None:
    assert in_container(docker_client, built["image"], "cat", f"{KERNEL}/etc/libdata.conf") == f"prefix={KERNEL}\n"


def test_no_package_file_or_installer_is_left_in_the_image(built: dict[str, Any], docker_client: Any) -> None:
    found = in_container(
        docker_client,
        built["image"],
        "sh",
        "-c",
        "find /opt /home /tmp /root /etc \\( -name '*.conda' -o -name '*.tar.bz2' -o -name '*.whl' "
        "-o -name 'conda-installer' -o -name 'records.json' \\) 2>/dev/null || true",
    )
    assert found.strip() == ""


def test_verify_reproduces_the_notebook_in_the_conda_kernel(
    built: dict[str, Any], notebook: Path, shared_cache: Path, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from envcapsule.verify.check import verify

    monkeypatch.setenv("ENVCAPSULE_CACHE_DIR", str(shared_cache))
    report = verify(notebook, base_image=BASE_IMAGE, client=docker_client)
    assert report.reproduced, report.render_text()
    assert (report.total, report.reproduced_cells) == (2, 2)


def test_diff_names_a_conda_package_removed_after_the_snapshot(
    built: dict[str, Any], notebook: Path, conda_python: Path, conda_channel: Path, shared_cache: Path
) -> None:
    """Runs last in this module: it changes the environment, with a real py-rattler transaction."""
    import rattler

    assert envcapsule("diff", notebook, "--python", conda_python, cache=shared_cache)["identical"] is True
    prefix = conda_python.parent.parent
    kept = [rattler.PrefixRecord.from_path(p) for p in (prefix / "conda-meta").glob("*.json") if "libdata" not in p.name]
    asyncio.run(rattler.install(kept, target_prefix=prefix, show_progress=False))
    assert "libdata" not in records_of(prefix)

    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(shared_cache)}
    completed = subprocess.run(
        [sys.executable, "-m", "envcapsule", "diff", str(notebook), "--python", str(conda_python), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    drift = json.loads(completed.stdout)
    assert drift["conda"] == {"libdata": {"kind": "removed", "old": "2.0 (h1a2b3c4_0)", "new": None}}
    assert drift["packages"] == {}
