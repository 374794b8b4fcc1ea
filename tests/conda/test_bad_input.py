"""Conda records that cannot be locked, channels that need credentials, and what the user is told."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

from envcapsule.capsule import read_capsule
from envcapsule.conda.channels import expand_url
from envcapsule.conda.fetch import CondaFetchError, cached_path, fetch_conda_file
from envcapsule.errors import CapsuleError
from envcapsule.facts import CondaRecord, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.image.wheelcache import WheelCache
from envcapsule.snapshot import snapshot

CHANNEL = "https://conda.example.org/t/${PRIVATE_TOKEN}/private"
MD5, SHA256 = "a" * 32, "b" * 64


def record(name: str, **fields: object) -> CondaRecord:
    values: dict[str, object] = {
        "version": "1.0",
        "build": "h0_0",
        "subdir": "linux-64",
        "url": f"{CHANNEL}/linux-64/{name}-1.0-h0_0.conda",
        "channel": f"{CHANNEL}/linux-64",
        "md5": MD5,
        "sha256": SHA256,
    }
    values.update(fields)
    return CondaRecord(name=name, **values)  # type: ignore[arg-type]


def conda_facts(*records: CondaRecord) -> EnvironmentFacts:
    return EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/env", "conda", conda_prefix="/env"),
        platform=Platform(os="linux", system="Linux", machine="x86_64", libc="glibc", libc_version="2.36"),
        distributions=(),
        pip_config=PipConfig(no_index=True),
        conda_records=records,
    )


def snapshot_facts(tmp_path: Path, facts: EnvironmentFacts) -> Path:
    notebook = tmp_path / "analysis.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return snapshot(notebook, python=sys.executable, facts=facts).capsule


def test_a_record_without_url_or_md5_is_a_warning_that_names_it(tmp_path: Path) -> None:
    facts = conda_facts(record("python"), record("nourl", url=None), record("nohash", md5=None, sha256=None))

    capsule = read_capsule(snapshot_facts(tmp_path, facts))

    warnings = {w["package"]: w["message"] for w in capsule.warnings}
    assert sorted(warnings) == ["nohash", "nourl"]
    assert warnings["nourl"].startswith("The conda package nourl 1.0 (h0_0) has no download URL")
    assert warnings["nohash"].startswith("The conda package nohash 1.0 (h0_0) has no md5")
    lock = (capsule.folder / "conda-lock.yml").read_text()
    assert "name: python" in lock and "name: nourl" not in lock and "name: nohash" not in lock
    assert capsule.manifest["conda"]["packages"] == 1


def test_a_token_reference_is_written_as_a_reference_and_conda_lock_knows_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVATE_TOKEN", "tk-0123-secret")  # even when set here, the lockfiles keep the reference

    capsule = snapshot_facts(tmp_path, conda_facts(record("python")))

    texts = {path.name: path.read_text() for path in capsule.iterdir() if path.is_file()}
    assert not [name for name, text in texts.items() if "tk-0123-secret" in text]
    assert f"{CHANNEL}/linux-64/python-1.0-h0_0.conda#{MD5}" in texts["conda-linux-64.lock"]
    assert "used_env_vars:\n    - PRIVATE_TOKEN" in texts["conda-lock.yml"]


def test_a_build_fills_the_token_only_for_the_download() -> None:
    url = f"{CHANNEL}/linux-64/python-1.0-h0_0.conda"

    assert expand_url(url, {"PRIVATE_TOKEN": "tk-1"}) == "https://conda.example.org/t/tk-1/private/linux-64/python-1.0-h0_0.conda"
    with pytest.raises(CapsuleError, match=r"needs the credential in \$PRIVATE_TOKEN; set PRIVATE_TOKEN in this shell"):
        expand_url(url, {})


def test_a_package_file_that_changed_since_the_lock_is_refused(tmp_path: Path) -> None:
    package = tmp_path / "python-1.0-h0_0.conda"
    package.write_bytes(b"not what was locked")
    cache = WheelCache(tmp_path / "cache")
    target = cached_path(cache, MD5, SHA256, package.name)

    with (
        httpx.Client() as client,
        pytest.raises(CondaFetchError, match="now has different content .* snapshot the environment again"),
    ):
        fetch_conda_file(client, package.as_uri(), target, MD5, SHA256)
    assert not target.exists() and not list(target.parent.iterdir())


def test_a_record_with_only_md5_is_cached_by_md5(tmp_path: Path) -> None:
    import hashlib

    package = tmp_path / "old-1.0-0.tar.bz2"
    package.write_bytes(b"an old package")
    md5 = hashlib.md5(b"an old package").hexdigest()
    cache = WheelCache(tmp_path / "cache")

    with httpx.Client() as client:
        cached = fetch_conda_file(client, package.as_uri(), cached_path(cache, md5, None, package.name), md5, None)

    assert cached == cache.path(f"md5-{md5}", package.name) and cached.read_bytes() == b"an old package"


def test_a_damaged_conda_lock_is_one_sentence(tmp_path: Path) -> None:
    from envcapsule.conda.locked import read_conda_lock

    lock = tmp_path / "conda-lock.yml"
    lock.write_text("version: 1\nmetadata: {}\npackage:\n- name: python\n  manager: conda\n")

    with pytest.raises(
        CapsuleError, match=r"^conda-lock.yml is not a valid conda-lock file \(.*\); snapshot again to rewrite it.$"
    ):
        read_conda_lock(lock)
