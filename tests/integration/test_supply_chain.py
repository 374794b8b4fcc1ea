"""What an image is made of, on the real engine: the SBOM it carries, the base image.lock pins, and the
server environment server.pylock.toml pins, so that a build on a host with another cache installs the same one."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envcapsule import _toml as tomllib
from envcapsule.contract import KERNEL_PREFIX, SBOM_PATH, SBOM_SHA256_LABEL, SERVER_PYTHON
from envcapsule.image.server_env import host_record
from envcapsule.sbom import environment_of, sbom_components
from tests.cli.shell import TINY_NOTEBOOK, envcapsule, ok
from tests.support import BASE_IMAGE, debian_venv

pytestmark = pytest.mark.integration
LISTING = (
    "import importlib.metadata as m, json; print(json.dumps(sorted([d.metadata['Name'], d.version] for d in m.distributions())))"
)


def in_image(docker_client: Any, image: str, *command: str) -> bytes:
    output: bytes = docker_client.containers.run(image, list(command), entrypoint=[], remove=True, network_disabled=True)
    return output


def distributions(docker_client: Any, image: str, python: str) -> set[tuple[str, str]]:
    listing = json.loads(in_image(docker_client, image, python, "-c", LISTING))
    return {(name.lower().replace("_", "-"), version) for name, version in listing}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path, docker_client: Any) -> Iterator[dict[str, Any]]:
    """A small capsule built once on the configured default base (no --base-image), as a user's first build."""
    root = tmp_path_factory.mktemp("supply")
    python = debian_venv(root, "tabulate==0.9.0")
    notebook = root / "study.ipynb"
    notebook.write_text(json.dumps(TINY_NOTEBOOK))
    images: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVCAPSULE_BASE_IMAGE", BASE_IMAGE)
        ok(envcapsule("snapshot", notebook, "--python", python, cache=shared_cache))
        result = ok(envcapsule("build", notebook, "--json", cache=shared_cache)).json()
        images.append(result["image_id"])
        yield {"capsule": root / "study.capsule", "result": result, "root": root, "images": images}
    import docker.errors

    for image in dict.fromkeys(images):
        try:
            docker_client.images.remove(image, force=True)
        except docker.errors.ImageNotFound:
            pass


def test_the_image_carries_the_capsules_sbom_under_its_label(built: dict[str, Any], docker_client: Any) -> None:
    capsule, result = built["capsule"], built["result"]
    inside = in_image(docker_client, result["image_id"], "cat", SBOM_PATH)
    digest = hashlib.sha256(inside).hexdigest()
    assert docker_client.images.get(result["image_id"]).labels[SBOM_SHA256_LABEL] == digest
    assert (capsule / "sbom.cdx.json").read_bytes() == inside
    assert result["sbom_sha256"] == digest


def test_the_sbom_names_what_pip_finds_in_each_environment_of_the_image(built: dict[str, Any], docker_client: Any) -> None:
    image = built["result"]["image_id"]
    components = list(sbom_components(in_image(docker_client, image, "cat", SBOM_PATH).decode()))

    def listed(environment: str) -> set[tuple[str, str]]:
        return {
            (c["name"].lower(), c["version"])
            for c in components
            if environment_of(c) == environment and c.get("purl", "").startswith("pkg:pypi/")
        }

    kernel = listed("kernel")
    assert ("tabulate", "0.9.0") in kernel
    assert kernel == distributions(docker_client, image, f"{KERNEL_PREFIX}/bin/python")
    server = listed("server-environment")
    assert {"jupyterlab", "notebook", "nbval"} <= {name for name, _ in server}
    # `python3 -m venv` seeds the server environment with the base Python's own pip and setuptools (ensurepip).
    assert {name for name, _ in distributions(docker_client, image, SERVER_PYTHON) - server} == {"pip", "setuptools"}
    assert server <= distributions(docker_client, image, SERVER_PYTHON)


def test_the_first_build_pins_the_local_base_by_image_id(built: dict[str, Any], docker_client: Any) -> None:
    capsule = built["capsule"]
    base = docker_client.images.get(BASE_IMAGE)
    pin = tomllib.loads((capsule / "image.lock").read_text())["base"]
    assert pin["name"] == BASE_IMAGE and pin["image_id"] == base.id
    assert pin.get("digest") == ((base.attrs.get("RepoDigests") or [None])[0])
    oci = next(c for c in sbom_components((capsule / "sbom.cdx.json").read_text()) if c["type"] == "container")
    assert oci["hashes"] == [{"alg": "SHA-256", "content": (pin.get("digest") or base.id).rsplit("sha256:", 1)[-1]}]
    manifest = tomllib.loads((capsule / "capsule.toml").read_text())
    assert "image.lock" not in {record["path"] for record in manifest["lockfiles"]}


def test_a_build_on_a_pinned_base_that_is_gone_says_so_and_changes_nothing(built: dict[str, Any], tmp_path: Path) -> None:
    moved = tmp_path / "study.capsule"
    shutil.copytree(built["capsule"], moved)
    lock = moved / "image.lock"
    lock.write_text(lock.read_text().replace(tomllib.loads(lock.read_text())["base"]["image_id"], "sha256:" + "0" * 64))
    before = {p.name: p.read_bytes() for p in moved.iterdir() if p.is_file()}

    refused = envcapsule("build", moved, "--no-cache", "--base-image", BASE_IMAGE)
    assert refused.code == 1
    message = refused.stderr.strip().splitlines()[-1]
    assert f"The base image {BASE_IMAGE} is image sha256:" in message
    assert "not the image sha256:000000000000 this capsule was built on (image.lock)" in message
    assert "or pass `--base-image IMAGE` with another image (then pinned instead)." in message
    assert {p.name: p.read_bytes() for p in moved.iterdir() if p.is_file()} == before


def test_a_host_with_another_cache_installs_the_capsules_server_lock(
    built: dict[str, Any], shared_cache: Path, tmp_path: Path, docker_client: Any
) -> None:
    capsule, first = built["capsule"], built["result"]
    locked = tomllib.loads((capsule / "server.pylock.toml").read_text())
    pinned = {(p["name"], p["version"]) for p in locked["packages"]}
    assert ("nbval", next(v for n, v in pinned if n == "nbval")) in pinned
    assert pinned <= distributions(docker_client, first["image_id"], SERVER_PYTHON)

    # Another host: its cache lacks the JupyterLab wheel, and its own server resolution has no nbval.
    other = tmp_path / "other-cache"
    shutil.copytree(shared_cache / "wheels", other / "wheels", copy_function=os.link)
    jupyterlab = next(p for p in (other / "wheels").rglob("jupyterlab-4*.whl"))
    jupyterlab.unlink()
    record = host_record(shared_cache / "server-env", "311", "x86_64")
    theirs = host_record(other / "server-env", "311", "x86_64")
    theirs.parent.mkdir(parents=True)
    theirs.write_text("".join(line for line in record.read_text().splitlines(True) if not line.startswith("nbval-")))

    second = ok(envcapsule("build", capsule, "--no-cache", "--json", "--base-image", BASE_IMAGE, cache=other)).json()
    built["images"].append(second["image_id"])
    assert second["image_id"] != first["image_id"]
    assert second["server_lock_sha256"] == first["server_lock_sha256"]
    assert distributions(docker_client, second["image_id"], SERVER_PYTHON) == distributions(
        docker_client, first["image_id"], SERVER_PYTHON
    )
    assert pinned <= distributions(docker_client, second["image_id"], SERVER_PYTHON)
    assert jupyterlab.is_file()  # fetched by the URL server.pylock.toml records
    assert tomllib.loads((capsule / "server.pylock.toml").read_text()) == locked


def test_build_update_server_locks_the_server_environment_again(
    built: dict[str, Any], shared_cache: Path, docker_client: Any
) -> None:
    capsule = built["capsule"]
    lock = capsule / "server.pylock.toml"
    # A lock from before nbval was part of the server environment: the build installs it as it is, until asked.
    text = lock.read_text()
    start = text.index('[[packages]]\nname = "nbval"')
    lock.write_text(text[:start] + text[text.index("[[packages]]", start + 1) :])
    assert "nbval" not in {p["name"] for p in tomllib.loads(lock.read_text())["packages"]}

    refreshed = ok(
        envcapsule("build", capsule, "--update-server", "--json", "--base-image", BASE_IMAGE, cache=shared_cache)
    ).json()
    built["images"].append(refreshed["image_id"])
    assert refreshed["reused"] is False
    assert "nbval" in {p["name"] for p in tomllib.loads(lock.read_text())["packages"]}
    assert "nbval" in {name for name, _ in distributions(docker_client, refreshed["image_id"], SERVER_PYTHON)}


def test_a_capsule_built_before_image_lock_existed_is_pinned_by_its_next_build(
    built: dict[str, Any], shared_cache: Path, docker_client: Any
) -> None:
    capsule = built["capsule"]
    pinned = (capsule / "image.lock").read_text()
    (capsule / "image.lock").unlink()
    reused = ok(envcapsule("build", capsule, "--json", "--base-image", BASE_IMAGE, cache=shared_cache)).json()
    assert reused["reused"] is True
    assert (capsule / "image.lock").read_text() == pinned
