"""The host cache of notebook files: stored once by content, refused when a file changes while it is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcapsule.errors import CapsuleError, NotebookFilesError
from envcapsule.notebook_files import store as store_module
from envcapsule.notebook_files.store import FileStore, NotebookFile, files_hash


def test_a_file_is_stored_once_by_its_content(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "cache")
    (tmp_path / "a.csv").write_bytes(b"1,2\n")
    (tmp_path / "b.csv").write_bytes(b"1,2\n")
    first = store.add(tmp_path / "a.csv", "a.csv")
    second = store.add(tmp_path / "b.csv", "data/b.csv")
    assert first.sha256 == second.sha256 and first.size == 4
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == [store.path(first.sha256)]
    store.place([first, second], tmp_path / "placed")
    assert (tmp_path / "placed" / "data" / "b.csv").read_bytes() == b"1,2\n"


def test_a_file_that_changes_while_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "growing.csv"
    source.write_bytes(b"1,2\n")
    real_hash = store_module.hash_file

    def hash_then_append(path: Path) -> tuple[str, int]:
        result = real_hash(path)
        with path.open("ab") as stream:
            stream.write(b"3,4\n")
        return result

    monkeypatch.setattr(store_module, "hash_file", hash_then_append)
    store = FileStore(tmp_path / "cache")
    with pytest.raises(NotebookFilesError, match="changed while envcapsule was reading it") as caught:
        store.add(source, "growing.csv")
    assert "--exclude growing.csv" in caught.value.message("cli")
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_a_capsule_copy_that_does_not_match_its_hash_never_enters_the_cache(tmp_path: Path) -> None:
    (tmp_path / "input.csv").write_bytes(b"edited")
    recorded = NotebookFile("input.csv", 6, "0" * 64)
    with pytest.raises(CapsuleError, match="no longer matches its sha256"):
        FileStore(tmp_path / "cache").add_checked(tmp_path / "input.csv", recorded)


def test_the_files_hash_covers_paths_and_contents() -> None:
    a = NotebookFile("a.csv", 1, "a" * 64)
    assert files_hash([a]) != files_hash([NotebookFile("b.csv", 1, "a" * 64)])
    assert files_hash([a]) != files_hash([NotebookFile("a.csv", 1, "b" * 64)])
    assert files_hash([a, NotebookFile("b", 1, "b" * 64)]) == files_hash([NotebookFile("b", 1, "b" * 64), a])


def test_records_from_a_capsule_keep_to_their_grammar() -> None:
    with pytest.raises(CapsuleError):
        NotebookFile.from_record({"path": "../etc/passwd", "size": 1, "sha256": "a" * 64})
    with pytest.raises(CapsuleError):
        NotebookFile.from_record({"path": "a.csv", "size": -1, "sha256": "a" * 64})
