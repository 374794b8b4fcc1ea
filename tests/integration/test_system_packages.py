"""System packages on the real engine, from Debian's /usr/bin/python3: a kernel that needs libGL and Debian's PyYAML runs again.

The kernel environment is a ``--system-site-packages`` venv with opencv-python from PyPI (its
``cv2`` links ``libGL.so.1`` and ``libglib-2.0.so.0``, which the wheel does not bundle) and
Debian's ``python3-yaml`` from dist-packages, as a user of Debian's Python has it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomllib

from tests.cli.shell import envcapsule, ok
from tests.support import BASE_IMAGE, DEBIAN_PYTHON, executed_cell, require, run

pytestmark = pytest.mark.integration

HOST_PACKAGES = ("libgl1", "libglib2.0-0", "python3-yaml")
BLUR = (
    "import numpy as np, cv2, yaml\n"
    "img = np.random.default_rng(0).integers(0, 255, (32, 32), dtype=np.uint8)\n"
    "(int(cv2.GaussianBlur(img, (5, 5), 0).sum()), yaml.safe_dump({'blurred': True}).strip())"
)


def _installed(package: str) -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False)
    return done.stdout.endswith("installed")


@pytest.fixture(scope="module")
def system_kernel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(DEBIAN_PYTHON.exists() and shutil.which("dpkg-query") is not None, "Debian's python3 and dpkg are needed")
    require(all(_installed(p) for p in HOST_PACKAGES), f"the host needs {', '.join(HOST_PACKAGES)} (scripts/docker-setup)")
    root = tmp_path_factory.mktemp("system-kernel")
    run(DEBIAN_PYTHON, "-m", "venv", "--system-site-packages", root / "env")
    python = root / "env" / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "opencv-python", "ipykernel")
    return python


@pytest.fixture(scope="module")
def blur_notebook(system_kernel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook with the output the host's kernel gives, so verify compares the image against this machine."""
    folder = tmp_path_factory.mktemp("blur")
    script = BLUR.replace("\n(", "\nprint(repr((") + "))"
    expected = run(system_kernel, "-c", script).strip()
    notebook = folder / "blur.ipynb"
    kernelspec = {"display_name": "Python 3", "language": "python", "name": "python3"}
    document = {
        "cells": [executed_cell(1, BLUR, expected)],
        "metadata": {"kernelspec": kernelspec},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    notebook.write_text(json.dumps(document))
    return notebook


def test_native_libraries_and_debian_python_packages_travel_and_the_notebook_reproduces(
    system_kernel: Path, blur_notebook: Path, shared_cache: Path, docker_client: Any
) -> None:
    snapped = ok(envcapsule("snapshot", blur_notebook, "--python", system_kernel, "--json", cache=shared_cache)).json()
    capsule = blur_notebook.parent / "blur.capsule"
    manifest = tomllib.loads((capsule / "capsule.toml").read_text())
    packages = {p["name"]: p for p in manifest["system"]["packages"]}
    # (a) the owners of the libraries cv2 links against and the wheel does not bundle
    assert "libGL.so.1" in packages["libgl1"]["provides"]
    assert "libglib-2.0.so.0" in packages["libglib2.0-0"]["provides"]
    # (b) Debian's PyYAML is the Debian package, at its Debian version, never a PyPI sdist
    host_yaml = run("dpkg-query", "-W", "-f=${Version}", "python3-yaml").strip()
    assert packages["python3-yaml"]["version"] == host_yaml
    assert packages["python3-yaml"]["provides"] == ["python:pyyaml"]
    assert "pyyaml" not in snapped["files"], snapped["files"].get("pyyaml")
    assert all(f["kind"] == "wheel" for f in snapped["files"].values()), snapped["files"]
    assert manifest["system"]["site_packages"] == ["/usr/lib/python3/dist-packages"]
    assert set(HOST_PACKAGES) <= set((capsule / "apt.txt").read_text().split())
    # the rest of dist-packages is one line, not locked
    assert snapped["system"]["left_out"] and "python-apt" not in snapped["files"]

    # diff and status, as typed: the same kernel is identical; Debian's own python3 lacks cv2, so libGL's owner goes
    same = ok(envcapsule("diff", blur_notebook, "--python", system_kernel, cache=shared_cache))
    assert "Identical" in same.stdout, same.stdout
    other = envcapsule("diff", blur_notebook, "--python", DEBIAN_PYTHON, cache=shared_cache)
    assert f"system package libgl1 {packages['libgl1']['version']} was removed" in other.stdout, other.stdout + other.stderr
    status = ok(envcapsule("status", blur_notebook, "--python", system_kernel, cache=shared_cache))
    assert "Up to date" in status.stdout, status.stdout

    image = None
    try:
        built = ok(envcapsule("build", blur_notebook, "--base-image", BASE_IMAGE, "--json", cache=shared_cache)).json()
        image = built["image_id"]
        assert built["system_install"] == "offline"
        installed = dict(item.split("=", 1) for item in built["system_packages"] if "=" in item)  # the rest the base had
        assert {"libgl1", "python3-yaml"} <= set(installed)
        assert installed["python3-yaml"] == host_yaml
        # nothing was built from source: the lock holds wheels only and vendor/ is empty
        assert not (capsule / "vendor").exists() or not any((capsule / "vendor").iterdir())
        labels = docker_client.images.get(image).labels
        assert "libgl1=" in labels["envcapsule.system-packages"]
        doctor = envcapsule("doctor", blur_notebook, cache=shared_cache)
        assert "system packages" in doctor.stdout and "the image carries" in doctor.stdout, doctor.stdout
        ok(envcapsule("share", blur_notebook, "--binder", cache=shared_cache))
        binder = blur_notebook.parent / "binder"
        assert (binder / "apt.txt").read_text() == (capsule / "apt.txt").read_text()
        assert "xargs --arg-file=/tmp/envcapsule/system/apt.txt" in (binder / "Dockerfile").read_text()

        verified = envcapsule("verify", blur_notebook, "--json", cache=shared_cache)
        assert verified.code == 0, verified.stdout + verified.stderr
        assert verified.json()["reproduced"] is True
    finally:
        if image is not None:
            docker_client.images.remove(image, force=True)


def test_installing_an_unrelated_package_on_the_host_leaves_the_capsule_hash(
    system_kernel: Path, blur_notebook: Path, shared_cache: Path, tmp_path: Path
) -> None:
    require(
        os.geteuid() == 0 and shutil.which("dpkg-deb") is not None, "installing a package on the host needs root and dpkg-deb"
    )
    before = ok(envcapsule("snapshot", blur_notebook, "--python", system_kernel, "--json", cache=shared_cache)).json()
    name = "envcapsule-test-unrelated"
    root = tmp_path / "deb"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr" / "lib" / "envcapsule-test-unrelated").mkdir(parents=True)
    shutil.copyfile(Path("/usr/lib/python3/dist-packages/yaml/__init__.py"), root / "usr" / "lib" / name / "unrelated.py")
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: envcapsule tests <tests@localhost>\n"
        "Description: a package nothing in the kernel uses\n"
    )
    run("dpkg-deb", "--build", root, tmp_path / f"{name}.deb")
    run("dpkg", "--install", tmp_path / f"{name}.deb")
    try:
        assert _installed(name)
        after = ok(envcapsule("snapshot", blur_notebook, "--python", system_kernel, "--json", cache=shared_cache)).json()
    finally:
        run("dpkg", "--remove", name)
    assert after["capsule_hash"] == before["capsule_hash"]
    assert after["system"]["packages"] == before["system"]["packages"]


def test_pypi_mode_locks_the_index_files_of_the_same_versions(
    system_kernel: Path, blur_notebook: Path, shared_cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pypi.capsule"
    snapped = envcapsule(
        "snapshot",
        blur_notebook,
        "--python",
        system_kernel,
        "--system-python-packages",
        "pypi",
        "--out",
        out,
        "--json",
        cache=shared_cache,
    )
    result = ok(snapped).json()
    host_pyyaml = run(DEBIAN_PYTHON, "-c", "import yaml; print(yaml.__version__)").strip()
    assert result["files"]["pyyaml"]["version"] == host_pyyaml
    assert result["files"]["pyyaml"]["kind"] == "wheel"  # the manylinux wheel of that version, not an sdist built here
    assert result["files"]["pyyaml"]["url"].startswith("https://")  # from the index, not the host's dist-packages
    manifest = tomllib.loads((out / "capsule.toml").read_text())
    assert "python3-yaml" not in {p["name"] for p in manifest["system"]["packages"]}
    assert any("--system-python-packages=pypi" in w["message"] for w in manifest["warnings"])
