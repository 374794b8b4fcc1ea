"""Capsules made on macOS (arm64) and Windows (amd64) build and verify on this Linux engine; a small one builds for arm64.

The captures are what `envcapsule inspect --json` prints on those machines: the real wheels of
each platform installed into a folder, read by the probe (``tests.foreign``). Everything after
that is typed at a shell, as the README's cross-platform section shows: `snapshot --facts`,
`build --platform`, `verify`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.cli.shell import envcapsule, ok
from tests.foreign import MACOS_ARM64, WINDOWS_AMD64, ForeignPlatform, facts_file, install_for
from tests.support import BASE_IMAGE, require

pytestmark = pytest.mark.integration

ARM64_BASE_IMAGE = os.environ.get("ENVCAPSULE_TEST_BASE_IMAGE_ARM64", "envcapsule-test/python:3.11.2-bookworm-arm64")
# The notebook's own stack, at versions with wheels for all four platforms and Python 3.11.
# jupyter-core 5.7 is the last to require pywin32 on Windows.
STACK = ("numpy==2.2.6", "pandas==2.2.3", "matplotlib==3.10.3", "ipykernel==6.29.5", "jupyter-core==5.7.2")
LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m, json; print(json.dumps([d.metadata['Name'].lower() for d in m.distributions()]))"
)


def notebook(folder: Path) -> Path:
    """A notebook whose stored output names the versions it ran with and that plots, as it did on the laptop."""
    cells = [
        (
            "import numpy, pandas, matplotlib\nprint(numpy.__version__, pandas.__version__, matplotlib.__version__)",
            "2.2.6 2.2.3 3.10.3\n",
        ),
        (
            "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "frame = pandas.DataFrame({'x': numpy.arange(5)})\nplt.plot(frame.x, frame.x ** 2)\nprint(int((frame.x ** 2).sum()))",
            "30\n",
        ),
    ]
    content = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": number,
                "id": f"c{number}",
                "metadata": {},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": [output]}],
                "source": source.splitlines(keepends=True),
            }
            for number, (source, output) in enumerate(cells, start=1)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "analysis.ipynb"
    path.write_text(json.dumps(content, indent=1))
    return path


def captured_on(platform: ForeignPlatform, tmp_path: Path, *requirements: str) -> Path:
    site = install_for(platform, tmp_path / "laptop-site-packages", *requirements)
    return facts_file(platform, site, tmp_path / "facts.json")


@pytest.fixture()
def shell_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell with the base image named once, and no pip settings of this machine (the laptop's facts name its index)."""
    monkeypatch.setenv("ENVCAPSULE_BASE_IMAGE", BASE_IMAGE)
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)


def remove_image(docker_client: Any, image: str) -> None:
    import docker.errors

    try:
        docker_client.images.remove(image, force=True)
    except docker.errors.ImageNotFound:
        pass


@pytest.mark.usefixtures("shell_env")
@pytest.mark.parametrize(
    ("laptop", "only_there"),
    [(MACOS_ARM64, {"appnope"}), (WINDOWS_AMD64, {"pywin32", "colorama"})],
    ids=["macos-arm64", "windows-amd64"],
)
def test_a_laptop_capture_builds_for_linux_amd64_and_verifies(
    laptop: ForeignPlatform, only_there: set[str], tmp_path: Path, shared_cache: Path, docker_client: Any
) -> None:
    facts = captured_on(laptop, tmp_path, *STACK)
    captured = {d["name"]: d for d in json.loads(facts.read_text())["distributions"]}
    assert only_there <= set(captured), "the laptop's own platform-only packages are in its capture"
    assert laptop.platform["machine"].lower() in " ".join(captured["numpy"]["wheel_tags"]).lower()

    nb = notebook(tmp_path / "project")
    snap = ok(envcapsule("snapshot", nb, "--facts", facts, "--json", cache=shared_cache)).json()
    by_platform = {t["platform"]: t for t in snap["targets"]}
    assert set(by_platform) == {"linux/amd64", "linux/arm64"}
    for target in by_platform.values():
        assert target["error"] is None and target["missing"] == []
        assert only_there <= set(target["dropped"])
        assert {"numpy", "pandas", "matplotlib"} <= set(target["replaced"])
    assert any("Left out of linux/amd64" in w and "appnope" in w for w in snap["warnings"]) == ("appnope" in only_there)

    built = ok(
        envcapsule("build", nb.with_name("analysis.capsule"), "--platform", "linux/amd64", "--json", cache=shared_cache)
    ).json()
    try:
        assert built["platform"] == "linux/amd64"
        image = docker_client.images.get(built["image"])
        assert image.labels["envcapsule.platform"] == "linux/amd64"
        listing = docker_client.containers.run(
            built["image"],
            ["/opt/envcapsule/kernel/bin/python", "-c", LIST_DISTRIBUTIONS],
            entrypoint=[],
            remove=True,
            network_disabled=True,
        ).decode()
        installed = set(json.loads(listing))
        assert not (only_there & installed), "the laptop's platform-only packages are left out of the Linux image"
        assert {"numpy", "pandas", "matplotlib", "ipykernel"} <= installed

        verified = envcapsule("verify", nb, "--json", cache=shared_cache)
        report = verified.json()
        assert verified.code == 0, report
        assert report["reproduced"] is True
        assert any("captured on" in w and laptop.platform["os"] in w for w in report["conditions"]["warnings"])
    finally:
        remove_image(docker_client, built["image"])


@pytest.mark.usefixtures("shell_env")
def test_a_small_capsule_builds_for_arm64_under_emulation(tmp_path: Path, shared_cache: Path, docker_client: Any) -> None:
    emulated = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists()
    facts = captured_on(MACOS_ARM64, tmp_path, "numpy==2.2.6", "six==1.17.0", "ipykernel==6.29.5")
    nb = notebook(tmp_path / "project")
    ok(envcapsule("snapshot", nb, "--facts", facts, "--platform", "linux/arm64", "--json", cache=shared_cache))
    capsule = nb.with_name("analysis.capsule")
    if not emulated:
        refused = envcapsule("build", capsule, "--platform", "linux/arm64", "--base-image", BASE_IMAGE, cache=shared_cache)
        assert refused.code != 0
        assert "is for amd64, and this build is for linux/arm64" in refused.stderr
        require(False, "QEMU is not registered with binfmt_misc here (scripts/docker-setup registers it)")
    require(
        bool(docker_client.images.list(name=ARM64_BASE_IMAGE)),
        f"the arm64 base image {ARM64_BASE_IMAGE}; run scripts/docker-setup",
    )
    completed = envcapsule(
        "build",
        capsule,
        "--platform",
        "linux/arm64",
        "--base-image",
        ARM64_BASE_IMAGE,
        "--json",
        cache=shared_cache,
        timeout=3600,
    )
    built = ok(completed).json()
    try:
        assert built["platform"] == "linux/arm64" and built["emulated"] is True
        assert built["image"].endswith("-arm64")
        image = docker_client.images.get(built["image"])
        assert image.attrs["Architecture"] == "arm64"
        output = docker_client.containers.run(
            built["image"],
            ["/opt/envcapsule/kernel/bin/python", "-c", "import numpy, platform; print(platform.machine())"],
            entrypoint=[],
            remove=True,
            network_disabled=True,
            platform="linux/arm64",
        ).decode()
        assert output.strip() == "aarch64"
    finally:
        remove_image(docker_client, built["image"])


@pytest.mark.usefixtures("shell_env")
def test_what_linux_needs_and_the_laptop_lacked_is_added_and_named(tmp_path: Path, shared_cache: Path) -> None:
    from envcapsule.capsule import read_capsule
    from envcapsule.image.files import install_plan

    facts = captured_on(MACOS_ARM64, tmp_path, "keyring==25.5.0")
    assert "jeepney" not in {d["name"] for d in json.loads(facts.read_text())["distributions"]}
    nb = notebook(tmp_path / "project")
    snap = ok(envcapsule("snapshot", nb, "--facts", facts, "--json", cache=shared_cache)).json()
    for target in snap["targets"]:
        added = {a["name"] for a in target["added"]}
        assert {"jeepney", "secretstorage"} <= added, target
        assert any(w.startswith(f"Added for {target['platform']}") and "jeepney==" in w for w in snap["warnings"])
    capsule = read_capsule(nb.with_name("analysis.capsule"))
    for platform, machine in (("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")):
        files = {f.name: f.filename for f in install_plan(capsule, platform).files}
        assert files["jeepney"].endswith("py3-none-any.whl")
        assert machine in files["cryptography"]
