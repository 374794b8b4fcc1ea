"""The capsule folder: atomic publication, content hash, and refusal of hand edits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envcapsule.capsule import MANIFEST, SCHEMA_VERSION, capsule_hash, read_capsule, render_manifest, staged_capsule
from envcapsule.errors import CapsuleError


def write_small_capsule(destination: Path, lock_text: str = "lock = 1\n") -> str:
    with staged_capsule(destination) as writer:
        sha = writer.write_text("pylock.toml", lock_text)
        manifest = {
            "schema": SCHEMA_VERSION,
            "created": "2026-01-01T00:00:00Z",
            "interpreter": {"implementation": "cpython", "version": "3.11.2", "abi_tag": "cp311"},
            "platform": {"os": "linux", "machine": "x86_64", "libc": "glibc"},
            "lockfiles": [{"path": "pylock.toml", "format": "pylock", "sha256": sha}],
        }
        manifest["capsule_hash"] = capsule_hash(manifest)
        writer.write_text(MANIFEST, render_manifest(manifest))
    return manifest["capsule_hash"]


def test_capsule_is_published_whole_and_reads_back(tmp_path: Path) -> None:
    digest = write_small_capsule(tmp_path / "nb.capsule")
    capsule = read_capsule(tmp_path / "nb.capsule")
    assert capsule.capsule_hash == digest
    assert [p.name for p in tmp_path.iterdir()] == ["nb.capsule"]  # no staging folder left behind


def test_hash_ignores_creation_time_but_not_the_lock(tmp_path: Path) -> None:
    first = write_small_capsule(tmp_path / "a.capsule")
    again = write_small_capsule(tmp_path / "b.capsule")
    changed = write_small_capsule(tmp_path / "c.capsule", lock_text="lock = 2\n")
    assert first == again
    assert first != changed


def test_a_failure_midway_keeps_the_previous_capsule(tmp_path: Path) -> None:
    destination = tmp_path / "nb.capsule"
    before = write_small_capsule(destination)
    with pytest.raises(RuntimeError):
        with staged_capsule(destination) as writer:
            writer.write_text("pylock.toml", "half")
            raise RuntimeError("interrupted")
    assert read_capsule(destination).capsule_hash == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.capsule"]


def test_a_hand_edited_lockfile_is_refused(tmp_path: Path) -> None:
    write_small_capsule(tmp_path / "nb.capsule")
    (tmp_path / "nb.capsule" / "pylock.toml").write_text("lock = 'edited'\n")
    with pytest.raises(CapsuleError, match="pylock.toml was changed after the snapshot"):
        read_capsule(tmp_path / "nb.capsule")


def test_a_read_only_parent_is_one_clear_sentence(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        parent = Path("/sys")  # root ignores permission bits; sysfs refuses new folders even to root
    else:
        parent = tmp_path
        parent.chmod(0o555)
    try:
        with pytest.raises(CapsuleError, match="pass --out with a folder you can write to"):
            write_small_capsule(parent / "nb.capsule")
    finally:
        tmp_path.chmod(0o755)


def test_a_folder_that_is_not_a_capsule_is_never_replaced(tmp_path: Path) -> None:
    precious = tmp_path / "nb.capsule"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(CapsuleError, match="is not a capsule"):
        write_small_capsule(precious)
    assert (precious / "thesis.tex").read_text() == "years of work"
