"""Packages that did not come from a published wheel still travel: sdist-only and locally built packages, and wheels
installed from a folder on this machine (the CLI on the real engine and the real package index)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envcapsule import _toml as tomllib
from tests.cli.shell import envcapsule, ok
from tests.support import BASE_IMAGE, debian_venv, local_project, run

pytestmark = pytest.mark.integration


def notebook(folder: Path, *cells: tuple[str, str]) -> Path:
    path = folder / "study.ipynb"
    folder.mkdir(parents=True, exist_ok=True)
    content = [
        {
            "cell_type": "code",
            "execution_count": index,
            "id": f"c{index}",
            "metadata": {},
            "outputs": [
                {"data": {"text/plain": [shown]}, "execution_count": index, "metadata": {}, "output_type": "execute_result"}
            ],
            "source": [source],
        }
        for index, (source, shown) in enumerate(cells, start=1)
    ]
    kernelspec = {"display_name": "Python 3", "language": "python", "name": "python3"}
    path.write_text(json.dumps({"cells": content, "metadata": {"kernelspec": kernelspec}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def packages(capsule: Path) -> dict[str, dict[str, Any]]:
    lock = tomllib.loads((capsule / "pylock.toml").read_text())
    return {package["name"]: package for package in lock["packages"]}


def build_and_verify(path: Path, cache: Path, docker_client: Any) -> None:
    built = ok(envcapsule("build", path, "--base-image", BASE_IMAGE, "--json", cache=cache)).json()
    try:
        verified = envcapsule("verify", path, "--json", cache=cache)
        assert verified.code == 0, verified.stdout + verified.stderr
        assert verified.json()["reproduced"] is True
    finally:
        docker_client.images.remove(built["image_id"], force=True)


def test_an_sdist_only_package_and_a_local_build_are_built_into_wheels_and_run(
    tmp_path: Path, shared_cache: Path, docker_client: Any
) -> None:
    python = debian_venv(tmp_path / "kernel", "ipykernel", "docopt==0.6.2")
    run(python, "-m", "pip", "install", "--quiet", "--no-binary", ":all:", "simplejson==3.19.2")
    path = notebook(
        tmp_path / "project",
        ("import docopt\ndocopt.__version__", "'0.6.2'"),
        ("import simplejson\nsimplejson.dumps({'a': [1, 2]})", "'{\"a\": [1, 2]}'"),
    )
    snapped = ok(envcapsule("snapshot", path, "--python", python, "--json", cache=shared_cache)).json()
    assert snapped["unresolved"] == [], snapped["unresolved"]
    locked = packages(path.with_name("study.capsule"))
    for name in ("docopt", "simplejson"):
        # Either the index's wheel of that very version, or the sdist with the wheel built from it in vendor/.
        package = locked[name]
        built = (package.get("tool") or {}).get("envcapsule", {}).get("wheel")
        assert package.get("wheels") or (built and (path.with_name("study.capsule") / built).is_file()), package
    build_and_verify(path, shared_cache, docker_client)


def test_wheels_from_a_local_folder_lock_to_the_index_or_travel_in_vendor(
    tmp_path: Path, shared_cache: Path, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = debian_venv(tmp_path / "kernel", "ipykernel")
    folder = tmp_path / "wheels"
    run(python, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:", "six==1.17.0", "-d", folder)
    run(python, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", folder, local_project(tmp_path / "src", "onlyhere"))
    # The folder is part of the user's pip configuration, as a team's shared wheel folder would be.
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    run(python, "-m", "pip", "install", "--quiet", "--no-index", "six==1.17.0", "onlyhere")
    path = notebook(
        tmp_path / "project",
        ("import six\nsix.__version__", "'1.17.0'"),
        ("import onlyhere\nonlyhere.GREETING", "'hello from onlyhere'"),
    )
    snapped = ok(envcapsule("snapshot", path, "--python", python, "--json", cache=shared_cache)).json()
    capsule = path.with_name("study.capsule")
    locked = packages(capsule)
    # six is PyPI's own file: the capsule names the index's copy, never the folder on this machine.
    six_url = locked["six"]["wheels"][0].get("url", "")
    assert six_url.startswith("https://") and "file:" not in six_url, locked["six"]
    # onlyhere exists nowhere else: it travels in vendor/, and the warning says so.
    onlyhere = locked["onlyhere"]["wheels"][0]
    assert onlyhere.get("path", "").startswith("vendor/") and (capsule / onlyhere["path"]).is_file(), locked["onlyhere"]
    assert any("onlyhere" in warning for warning in snapped["warnings"]), snapped["warnings"]
    assert str(tmp_path) not in (capsule / "pylock.toml").read_text() + (capsule / "requirements.txt").read_text()
    build_and_verify(path, shared_cache, docker_client)
