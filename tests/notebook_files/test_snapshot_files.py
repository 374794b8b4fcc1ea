"""snapshot() carries the notebook's files: recorded in capsule.toml, copied under files/, hashed apart from the environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envcapsule.capsule import read_capsule
from envcapsule.errors import CapsuleError, LockError, NotebookFilesError
from envcapsule.image.build import expected_labels, image_tag
from envcapsule.snapshot import snapshot
from tests.fakeindex import FakeIndex
from tests.test_snapshot import facts_for

pytestmark = pytest.mark.usefixtures("no_pip_environment")


@pytest.fixture()
def index() -> FakeIndex:
    with FakeIndex(mode="html") as served:
        served.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        yield served


def project(tmp_path: Path) -> Path:
    notebook = tmp_path / "analysis.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (tmp_path / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "input.csv").write_text("a,b\n1,2\n")
    return notebook


def test_the_files_beside_the_notebook_travel_with_their_hashes(tmp_path: Path, index: FakeIndex) -> None:
    result = snapshot(project(tmp_path), python=sys.executable, facts=facts_for(index.url))
    capsule = read_capsule(result.capsule)
    assert [(f.path, f.size) for f in capsule.files] == [("data/input.csv", 8), ("helpers.py", 32)]
    assert (result.capsule / "files" / "data" / "input.csv").read_text() == "a,b\n1,2\n"
    assert capsule.files_hash is not None and result.notebook_files is not None
    assert result.to_json()["notebook_files"]["paths"] == ["data/input.csv", "helpers.py"]
    assert image_tag(capsule) == f"envcapsule/analysis:{capsule.capsule_hash[:12]}-{capsule.files_hash[:8]}"
    assert expected_labels(capsule)["envcapsule.files-hash"] == capsule.files_hash


def test_a_changed_csv_changes_the_files_hash_not_the_environment(tmp_path: Path, index: FakeIndex) -> None:
    notebook = project(tmp_path)
    first = read_capsule(snapshot(notebook, python=sys.executable, facts=facts_for(index.url)).capsule)
    (tmp_path / "data" / "input.csv").write_text("a,b\n1,3\n")
    second = read_capsule(snapshot(notebook, python=sys.executable, facts=facts_for(index.url)).capsule)
    assert second.capsule_hash == first.capsule_hash
    assert second.files_hash != first.files_hash
    assert image_tag(second) != image_tag(first)


def test_a_capsule_file_edited_after_the_snapshot_is_refused(tmp_path: Path, index: FakeIndex) -> None:
    result = snapshot(project(tmp_path), python=sys.executable, facts=facts_for(index.url))
    copy = result.capsule / "files" / "helpers.py"
    copy.unlink()  # a hard link into the host cache: replace it, do not write through it
    copy.write_text("edited")
    with pytest.raises(CapsuleError, match="files/helpers.py is missing from the capsule or was changed"):
        read_capsule(result.capsule)


def test_left_out_files_are_warnings_and_strict_refuses_them(tmp_path: Path, index: FakeIndex) -> None:
    notebook = project(tmp_path)
    (tmp_path / "model.bin").write_bytes(b"m" * 2000)
    result = snapshot(notebook, python=sys.executable, facts=facts_for(index.url), max_files_size=1000)
    assert [f.path for f in read_capsule(result.capsule).files] == ["data/input.csv", "helpers.py"]
    [warning] = [w for w in result.warnings if "model.bin" in w]
    assert "model.bin (2 kB)" in warning and "--max-files-size 1MB" in warning
    with pytest.raises(LockError, match="model.bin was left out"):
        snapshot(notebook, python=sys.executable, facts=facts_for(index.url), max_files_size=1000, strict=True)


def test_a_refused_folder_leaves_no_capsule(tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    notebook = project(tmp_path)
    with pytest.raises(NotebookFilesError):
        snapshot(notebook, python=sys.executable, facts=facts_for(index.url))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.ipynb", "data", "helpers.py"]
    result = snapshot(notebook, python=sys.executable, facts=facts_for(index.url), include=["data/"])
    assert [f.path for f in read_capsule(result.capsule).files] == ["data/input.csv"]
