"""snapshot() of a real conda environment: conda-lock.yml, the explicit lock, and a new prefix installed from them."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from envcapsule import _toml as tomllib
from envcapsule.capsule import read_capsule
from envcapsule.capture import probe_interpreter
from envcapsule.conda.fetch import ensure_conda_files
from envcapsule.conda.image import conda_files, write_conda_packages
from envcapsule.conda.lockfile import conda_lock_modules
from envcapsule.conda.rattler_install import install_locked
from envcapsule.errors import CapsuleError
from envcapsule.facts import PipConfig
from envcapsule.image.build import build
from envcapsule.image.wheelcache import WheelCache
from envcapsule.snapshot import snapshot
from tests.conda.channel import SUBDIR
from tests.conda.conftest import add_pip_distribution, prefix_of, records_of
from tests.fakeindex import FakeIndex

pytestmark = pytest.mark.usefixtures("no_pip_environment")

DEMO_WHEEL = b"demo wheel"


@pytest.fixture()
def index() -> Iterator[FakeIndex]:
    with FakeIndex(mode="html") as served:
        served.add_file("demo", "demo-1.0-py3-none-any.whl", content=DEMO_WHEEL)
        yield served


def capsule_of(python: Path, index: FakeIndex, folder: Path, *, add_demo: bool = True) -> Path:
    """Snapshot the conda environment (plus one pip distribution, locked on the loopback index)."""
    if add_demo:
        add_pip_distribution(python, "demo")
    facts = dataclasses.replace(probe_interpreter(python), pip_config=PipConfig(index_url=index.url))
    folder.mkdir(exist_ok=True)
    notebook = folder / "analysis.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return snapshot(notebook, python=python, facts=facts).capsule


def test_the_capsule_names_the_conda_environment_and_its_lockfiles(conda_python: Path, index: FakeIndex, tmp_path: Path) -> None:
    capsule = read_capsule(capsule_of(conda_python, index, tmp_path))

    assert capsule.manifest["interpreter"]["environment_kind"] == "conda"
    conda = capsule.manifest["conda"]
    assert (conda["platform"], conda["packages"], conda["lockfile"], conda["explicit"]) == (
        SUBDIR,
        3,
        "conda-lock.yml",
        f"conda-{SUBDIR}.lock",
    )
    [channel] = conda["channels"]
    assert channel.startswith("file:///") and channel.endswith("/channel")
    assert {record.path: record.format for record in capsule.lockfiles} == {
        "pylock.toml": "pylock",
        "requirements.txt": "requirements",
        "conda-lock.yml": "conda-lock",
        f"conda-{SUBDIR}.lock": "conda-explicit",
        "environment.yml": "conda-environment",
    }
    pylock = tomllib.loads((capsule.folder / "pylock.toml").read_text())
    assert [p["name"] for p in pylock["packages"]] == ["demo"]  # tinypkg is conda's, so pip does not lock it
    assert capsule.warnings == []


def test_conda_lock_yml_is_conda_lock_v1_with_every_record(conda_python: Path, index: FakeIndex, tmp_path: Path) -> None:
    capsule = capsule_of(conda_python, index, tmp_path)
    lockfile = conda_lock_modules()["lockfile"]

    raw = lockfile.yaml.safe_load((capsule / "conda-lock.yml").read_text())
    lock = lockfile.parse_conda_lock_file(capsule / "conda-lock.yml")

    assert raw["version"] == 1
    assert lock.metadata.platforms == [SUBDIR] and lock.metadata.sources == ["environment.yml"]
    assert len(lock.metadata.content_hash[SUBDIR]) == 64
    assert [c.url for c in lock.metadata.channels] == read_capsule(capsule).manifest["conda"]["channels"]
    conda = {p.name: p for p in lock.package if p.manager == "conda"}
    records = records_of(prefix_of(conda_python))
    assert sorted(conda) == sorted(records) == ["libdata", "python", "tinypkg"]
    for name, package in conda.items():
        record = records[name]
        assert (package.version, package.build, package.url) == (record["version"], record["build"], record["url"])
        assert (package.hash.md5, package.hash.sha256) == (record["md5"], record["sha256"])
    assert conda["tinypkg"].dependencies == {"python": ">=3.8"}
    [demo] = [p for p in lock.package if p.manager == "pip"]
    assert (demo.name, demo.version, demo.url) == ("demo", "1.0", index.file_url("demo-1.0-py3-none-any.whl"))
    assert demo.hash.sha256 == hashlib.sha256(DEMO_WHEEL).hexdigest()


def test_the_explicit_lock_has_one_url_and_md5_per_record_in_install_order(
    conda_python: Path, index: FakeIndex, tmp_path: Path
) -> None:
    capsule = capsule_of(conda_python, index, tmp_path)

    lines = (capsule / f"conda-{SUBDIR}.lock").read_text().splitlines()

    explicit = lines[lines.index("@EXPLICIT") + 1 :]
    urls = [line for line in explicit if not line.startswith("#")]
    records = records_of(prefix_of(conda_python))
    assert sorted(urls) == sorted(f"{r['url']}#{r['md5']}" for r in records.values())
    position = {line.split("/")[-1].split("-")[0]: i for i, line in enumerate(urls)}
    assert position["python"] < position["tinypkg"]  # tinypkg depends on python
    sha = hashlib.sha256(DEMO_WHEEL).hexdigest()
    assert [line for line in explicit if line.startswith("# pip ")] == [
        f"# pip demo @ {index.file_url('demo-1.0-py3-none-any.whl')}#sha256={sha}"
    ]


def test_the_lock_installs_into_a_new_prefix_offline_with_identical_records(
    conda_python: Path, index: FakeIndex, tmp_path: Path
) -> None:
    """What the image's conda stage does, on this machine: host cache, then py-rattler from local files only."""
    capsule = read_capsule(capsule_of(conda_python, index, tmp_path))
    platform, files = conda_files(capsule)
    cache = WheelCache(tmp_path / "cache")
    ensure_conda_files(files, cache)
    write_conda_packages(tmp_path / "context" / "conda", files, cache)

    new_prefix = tmp_path / "rebuilt"
    assert asyncio.run(install_locked(tmp_path / "context" / "conda", new_prefix)) == 0

    assert platform == SUBDIR
    assert records_of(new_prefix) == records_of(prefix_of(conda_python))
    assert (new_prefix / "etc" / "libdata.conf").read_text() == f"prefix={new_prefix}\n"
    rebuilt = probe_interpreter(new_prefix / "bin" / "python")
    assert [(d.name, d.conda) for d in rebuilt.distributions] == [("tinypkg", True)]
    assert all(oct(p.stat().st_mode)[-3:] == "644" for p in (new_prefix / "conda-meta").glob("*.json"))


def test_a_second_snapshot_of_the_same_environment_has_the_same_hash(
    conda_python: Path, index: FakeIndex, tmp_path: Path
) -> None:
    first = capsule_of(conda_python, index, tmp_path / "first")

    second = capsule_of(conda_python, index, tmp_path / "second", add_demo=False)

    assert read_capsule(second).capsule_hash == read_capsule(first).capsule_hash
    for name in ("conda-lock.yml", f"conda-{SUBDIR}.lock", "environment.yml"):
        assert (second / name).read_bytes() == (first / name).read_bytes()


def test_a_hand_edited_conda_lock_is_refused_before_any_build(conda_python: Path, index: FakeIndex, tmp_path: Path) -> None:
    capsule = capsule_of(conda_python, index, tmp_path)
    lock = capsule / "conda-lock.yml"
    lock.write_text(lock.read_text().replace("version: '1.0'", "version: '1.1'"))

    with pytest.raises(CapsuleError, match=r"^conda-lock.yml was changed after the snapshot .* snapshot again"):
        build(capsule, client=object())
