"""diff and status name the notebook's files added, removed or changed since the snapshot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from envcapsule.capsule import read_capsule
from envcapsule.drift import capsule_drift
from envcapsule.snapshot import snapshot
from envcapsule.status import capsule_status
from tests.fakeindex import FakeIndex
from tests.notebook_files.test_snapshot_files import project
from tests.test_snapshot import facts_for

pytestmark = pytest.mark.usefixtures("no_pip_environment")


@pytest.fixture()
def index() -> FakeIndex:
    with FakeIndex(mode="html") as served:
        served.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        yield served


def test_files_added_removed_and_changed_are_drift(tmp_path: Path, index: FakeIndex) -> None:
    notebook = project(tmp_path)
    facts = facts_for(index.url)
    capsule = read_capsule(snapshot(notebook, python=sys.executable, facts=facts).capsule)
    assert capsule_drift(capsule, facts).identical

    (tmp_path / "data" / "input.csv").write_text("a,b\n9,9\n")  # same size, other content
    (tmp_path / "helpers.py").unlink()
    (tmp_path / "data" / "extra.csv").write_text("c\n")
    (tmp_path / "notes.log").write_text("ignored")
    (tmp_path / ".envcapsuleignore").write_text("*.log\n")
    drift = capsule_drift(capsule, facts)
    assert drift.lines() == ["file data/extra.csv was added", "file data/input.csv was changed", "file helpers.py was removed"]
    assert drift.summary() == "3 files changed beside the notebook"
    assert drift.to_json()["files"] == {
        "data/extra.csv": {"kind": "added"},
        "data/input.csv": {"kind": "changed"},
        "helpers.py": {"kind": "removed"},
    }

    status = capsule_status(notebook, live=facts, engine=False)
    assert status.state == "drifted" and "file data/input.csv was changed" in status.changes


def test_a_kernel_capsule_gains_files_only_from_the_kernel(tmp_path: Path, index: FakeIndex) -> None:
    notebook = project(tmp_path)
    facts = facts_for(index.url)
    used = [tmp_path / "helpers.py"]
    capsule = read_capsule(snapshot(notebook, python=sys.executable, facts=facts, kernel_files=used).capsule)
    assert [f.path for f in capsule.files] == ["helpers.py"]
    assert capsule_drift(capsule, facts).identical  # data/input.csv is in the folder, but the kernel never read it
    now = [*used, tmp_path / "data" / "input.csv"]
    assert capsule_drift(capsule, facts, kernel_files=now).lines() == ["file data/input.csv was added"]
