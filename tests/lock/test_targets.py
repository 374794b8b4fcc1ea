"""Locking for target platforms against a loopback index: each target's own files, what it adds and drops, and the plan a build reads."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from envcapsule import _toml as tomllib
from envcapsule.capsule import read_capsule
from envcapsule.errors import CapsuleError, LockError
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.image.emulation import build_platform
from envcapsule.image.files import install_plan
from envcapsule.lock.targets import markers_differ, roots
from envcapsule.platforms import Target
from envcapsule.snapshot import snapshot
from tests.fakeindex import FakeIndex

pytestmark = pytest.mark.usefixtures("no_pip_environment")

AMD64_WHEEL = "fastmath-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
ARM64_WHEEL = "fastmath-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"


@pytest.fixture()
def index() -> FakeIndex:
    with FakeIndex(mode="json") as served:
        served.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        served.add_file("fastmath", AMD64_WHEEL, content=b"amd64 wheel")
        served.add_file("fastmath", ARM64_WHEEL, content=b"arm64 wheel")
        served.add_file("fastmath", "fastmath-1.0-cp311-cp311-macosx_11_0_arm64.whl", content=b"mac wheel")
        served.add_file("onlyx86", "onlyx86-2.0-cp311-cp311-manylinux_2_17_x86_64.whl", content=b"x86 only")
        yield served


def linux_facts(index_url: str, *extra: Distribution) -> EnvironmentFacts:
    return EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64", libc="glibc", libc_version="2.36"),
        distributions=(
            Distribution("six", "1.17.0", wheel_tags=("py2-none-any", "py3-none-any")),
            Distribution("fastmath", "1.0", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64")),
            *extra,
        ),
        pip_config=PipConfig(index_url=index_url),
    )


def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "analysis.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_a_linux_capture_also_locks_the_arm64_wheel_of_each_version(tmp_path: Path, index: FakeIndex) -> None:
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=linux_facts(index.url))
    manifest = tomllib.loads((result.capsule / "capsule.toml").read_text())
    assert manifest["target"] == {"platforms": ["linux/amd64", "linux/arm64"], "glibc": "2.36"}
    lock = tomllib.loads((result.capsule / "pylock.toml").read_text())
    fastmath = next(p for p in lock["packages"] if p["name"] == "fastmath")
    assert [w["url"].rsplit("/", 1)[-1] for w in fastmath["wheels"]] == [AMD64_WHEEL, ARM64_WHEEL]
    six = next(p for p in lock["packages"] if p["name"] == "six")
    assert len(six["wheels"]) == 1  # a pure wheel is every target's file
    assert result.warnings == ()

    capsule = read_capsule(result.capsule)
    assert {f.name: f.filename for f in install_plan(capsule, "linux/amd64").files}["fastmath"] == AMD64_WHEEL
    assert {f.name: f.filename for f in install_plan(capsule, "linux/arm64").files}["fastmath"] == ARM64_WHEEL


def test_a_version_without_a_wheel_for_a_target_is_a_warning_and_an_error_with_strict(tmp_path: Path, index: FakeIndex) -> None:
    onlyx86 = Distribution("onlyx86", "2.0", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",))
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=linux_facts(index.url, onlyx86))
    assert result.warnings == (
        "No wheel for linux/arm64: onlyx86==2.0 has no file that fits it on the indexes (no wheel for it and no sdist).",
    )
    plan = install_plan(read_capsule(result.capsule), "linux/arm64")
    assert "onlyx86" not in {f.name for f in plan.files}
    assert any("no wheel for linux/arm64 of onlyx86==2.0" in s for s in plan.skipped)
    with pytest.raises(LockError, match="No wheel for linux/arm64: onlyx86==2.0"):
        snapshot(notebook(tmp_path), python=sys.executable, facts=linux_facts(index.url, onlyx86), strict=True)


def test_platform_narrows_the_targets_and_a_build_for_another_is_refused(tmp_path: Path, index: FakeIndex) -> None:
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=linux_facts(index.url), platforms="linux/amd64")
    capsule = read_capsule(result.capsule)
    assert capsule.manifest["target"]["platforms"] == ["linux/amd64"]
    assert build_platform(capsule, None, "linux/arm64") == "linux/amd64"
    with pytest.raises(CapsuleError, match="snapshot again with --platform linux/amd64,linux/arm64"):
        build_platform(capsule, "linux/arm64", "linux/amd64")


def test_markers_that_name_the_platform_decide_whether_the_target_is_resolved_again() -> None:
    ipykernel = Distribution("ipykernel", "6.29.5", requires_dist=("appnope; platform_system == 'Darwin'", "comm>=0.1.1"))
    mac = EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", "/x/python", "/x", "/x", "venv"),
        platform=Platform(os="darwin", system="Darwin", machine="arm64"),
        distributions=(ipykernel, Distribution("appnope", "0.1.4"), Distribution("comm", "0.2.2")),
    )
    assert markers_differ(mac, Target("linux/amd64", "3.11.2"))
    linux = EnvironmentFacts(
        interpreter=mac.interpreter, platform=Platform(os="linux", system="Linux", machine="x86_64"), distributions=(ipykernel,)
    )
    assert not markers_differ(linux, Target("linux/arm64", "3.11.2"))
    assert roots(mac, ["appnope", "comm", "ipykernel"]) == ["ipykernel"]


def test_requirements_txt_accepts_each_targets_file_of_a_version(tmp_path: Path, index: FakeIndex) -> None:
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=linux_facts(index.url))
    text = (result.capsule / "requirements.txt").read_text()
    amd64, arm64 = (hashlib.sha256(content).hexdigest() for content in (b"amd64 wheel", b"arm64 wheel"))
    assert f"fastmath==1.0 \\\n    --hash=sha256:{amd64} \\\n    --hash=sha256:{arm64}\n" in text
