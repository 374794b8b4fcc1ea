"""snapshot() against a loopback index: the capsule, the warnings, and what is never left half-written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envcapsule import _toml as tomllib
from envcapsule.capsule import read_capsule
from envcapsule.errors import EnvcapsuleError, LockError
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.snapshot import snapshot
from tests.fakeindex import FakeIndex

pytestmark = pytest.mark.usefixtures("no_pip_environment")


@pytest.fixture()
def index() -> FakeIndex:
    with FakeIndex(mode="html") as served:
        served.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        served.add_file("six", "six-1.17.0.tar.gz", content=b"six sdist")
        served.add_file("rich", "rich-14.0.0-py3-none-any.whl", content=b"rich wheel")
        yield served


def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "analysis.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def facts_for(index_url: str, *extra: Distribution) -> EnvironmentFacts:
    return EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64", libc="glibc", libc_version="2.36"),
        distributions=(
            Distribution("six", "1.17.0", wheel_tags=("py2-none-any", "py3-none-any")),
            *extra,
        ),
        pip_config=PipConfig(index_url=index_url),
        environment={"LANG": "C.UTF-8"},
    )


def test_snapshot_writes_a_capsule_beside_the_notebook(tmp_path: Path, index: FakeIndex) -> None:
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=facts_for(index.url))
    assert result.capsule == tmp_path / "analysis.capsule"
    capsule = read_capsule(result.capsule)
    assert capsule.capsule_hash == result.capsule_hash
    assert capsule.notebooks == ["analysis.ipynb"]
    lock = tomllib.loads((result.capsule / "pylock.toml").read_text())
    [six] = lock["packages"]
    assert six["wheels"][0]["url"] == index.file_url("six-1.17.0-py2.py3-none-any.whl")
    assert six["wheels"][0]["size"] == len(b"six wheel")


def test_offline_with_an_empty_cache_records_unresolved_files(tmp_path: Path, index: FakeIndex) -> None:
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=facts_for(index.url), offline=True)
    assert index.requests == []
    [entry] = result.entries
    assert entry.kind == "unresolved"
    manifest = tomllib.loads((result.capsule / "capsule.toml").read_text())
    assert manifest["warnings"] == [{"package": "six", "message": entry.reason}]
    assert "# not locked: six==1.17.0" in (result.capsule / "requirements.txt").read_text()


def test_offline_after_a_cached_snapshot_locks_everything(tmp_path: Path, index: FakeIndex) -> None:
    online = snapshot(notebook(tmp_path), python=sys.executable, facts=facts_for(index.url))
    index.reset_requests()
    offline = snapshot(notebook(tmp_path), python=sys.executable, facts=facts_for(index.url), offline=True)
    assert index.requests == []
    assert offline.capsule_hash == online.capsule_hash


def test_strict_refuses_and_keeps_the_previous_capsule(tmp_path: Path, index: FakeIndex) -> None:
    first = snapshot(notebook(tmp_path), python=sys.executable, facts=facts_for(index.url))
    missing = Distribution("ghost", "1.0", wheel_tags=("py3-none-any",))
    with pytest.raises(
        LockError,
        match=r"could not be locked exactly or cannot travel with the notebook: ghost==1.0 is not on the configured indexes",
    ):
        snapshot(notebook(tmp_path), python=sys.executable, facts=facts_for(index.url, missing), strict=True)
    assert read_capsule(first.capsule).capsule_hash == first.capsule_hash
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.capsule", "analysis.ipynb"]


def test_an_unreachable_index_is_one_sentence_and_no_capsule(tmp_path: Path) -> None:
    with FakeIndex() as gone:
        url = gone.url
    with pytest.raises(EnvcapsuleError, match=r"Could not reach the package index .*--offline"):
        snapshot(notebook(tmp_path), python=sys.executable, facts=facts_for(url))
    assert [p.name for p in tmp_path.iterdir()] == ["analysis.ipynb"]


def test_tooling_is_left_out_unless_asked_for(tmp_path: Path, index: FakeIndex) -> None:
    tool = Distribution("envcapsule", "0.1.0", requires_dist=("rich",))
    rich = Distribution("rich", "14.0.0", wheel_tags=("py3-none-any",))
    default = snapshot(notebook(tmp_path), python=sys.executable, facts=facts_for(index.url, tool, rich))
    assert default.excluded_tooling == ("envcapsule", "rich")
    assert [e.name for e in default.entries] == ["six"]
    kept = snapshot(
        notebook(tmp_path), python=sys.executable, facts=facts_for(index.url, rich), include_tooling=True, out=tmp_path / "all"
    )
    assert [e.name for e in kept.entries] == ["six", "rich"]


def test_minimal_keeps_what_the_kernel_imported_and_its_dependencies(tmp_path: Path, index: FakeIndex) -> None:
    rich = Distribution("rich", "14.0.0", wheel_tags=("py3-none-any",), top_level=("rich",), requires_dist=("six",))
    unused = Distribution("tabulate", "0.9.0", wheel_tags=("py3-none-any",), top_level=("tabulate",))
    facts = facts_for(index.url, rich, unused)
    live = EnvironmentFacts(**{**facts.__dict__, "imported_modules": ("rich", "json")})
    result = snapshot(notebook(tmp_path), python=sys.executable, facts=live, minimal=True)
    assert sorted(e.name for e in result.entries) == ["rich", "six"]
    assert result.used == ("rich",)


def test_minimal_without_a_live_kernel_is_explained(tmp_path: Path, index: FakeIndex) -> None:
    with pytest.raises(EnvcapsuleError, match="--minimal needs a live kernel"):
        snapshot(notebook(tmp_path), python=sys.executable, facts=facts_for(index.url), minimal=True)
