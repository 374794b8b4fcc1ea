"""The records beside a capsule survive a snapshot that changes nothing; folders that cannot take a capsule are one sentence."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound

from envcapsule.capsule import PINS, RECORDS, read_capsule
from envcapsule.errors import CapsuleError
from envcapsule.image.build import build
from envcapsule.share import push
from envcapsule.share.registry import record_push
from tests.conftest import require
from tests.fakeindex import FakeIndex
from tests.share.conftest import make_capsule, write_notebook


@pytest.fixture(scope="module")
def index() -> Iterator[FakeIndex]:
    with FakeIndex(mode="html") as served:
        served.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        yield served


@pytest.fixture()
def notebook(tmp_path: Path, index: FakeIndex, no_pip_environment: None) -> Path:
    path = write_notebook(tmp_path / "analysis.ipynb")
    make_capsule(path, index)
    return path


def write_records(capsule: Path) -> dict[str, str]:
    written = {name: f"{name} of the image built from this capsule\n" for name in RECORDS}
    for name, text in written.items():
        (capsule / name).write_text(text)
    return written


def test_a_snapshot_that_changes_nothing_keeps_the_build_push_and_verify_records(notebook: Path, index: FakeIndex) -> None:
    capsule = notebook.with_name("analysis.capsule")
    before = read_capsule(capsule).capsule_hash
    written = write_records(capsule)

    make_capsule(notebook, index)

    assert read_capsule(capsule).capsule_hash == before
    assert {name: (capsule / name).read_text() for name in RECORDS} == written


def test_a_snapshot_of_a_changed_notebook_drops_records_of_the_old_image(notebook: Path, index: FakeIndex) -> None:
    capsule = notebook.with_name("analysis.capsule")
    write_records(capsule)
    notebook.write_text(notebook.read_text().replace('"cells": []', '"cells": [], "changed": true'))

    make_capsule(notebook, index)

    assert [name for name in RECORDS if (capsule / name).exists()] == []


def test_a_snapshot_of_a_changed_notebook_keeps_the_base_and_server_pins(notebook: Path, index: FakeIndex) -> None:
    capsule = notebook.with_name("analysis.capsule")
    before = read_capsule(capsule).capsule_hash
    pins = {name: f"{name} of the base and server environment this capsule builds on\n" for name in PINS}
    for name, text in pins.items():
        (capsule / name).write_text(text)
    notebook.write_text(notebook.read_text().replace('"cells": []', '"cells": [], "changed": true'))

    make_capsule(notebook, index)

    assert read_capsule(capsule).capsule_hash != before
    assert {name: (capsule / name).read_text() for name in PINS} == pins


def test_records_are_created_with_the_umask_mode(notebook: Path) -> None:
    capsule = notebook.with_name("analysis.capsule")
    previous = os.umask(0o022)
    try:
        record_push(capsule, {"ref": "r", "registry": "127.0.0.1:5000/team", "digest": "d", "image_id": "i"})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((capsule / "push.json").stat().st_mode) == 0o644


def test_a_file_where_the_capsule_folder_should_be_is_one_sentence(tmp_path: Path, index: FakeIndex) -> None:
    path = write_notebook(tmp_path / "analysis.ipynb")
    (tmp_path / "analysis.capsule").write_text("not a folder")

    with pytest.raises(CapsuleError) as raised:
        make_capsule(path, index)

    assert str(raised.value) == (
        f"{tmp_path / 'analysis.capsule'} is a file, not a capsule folder; move it away or pass --out with another folder."
    )
    assert (tmp_path / "analysis.capsule").read_text() == "not a folder"


@pytest.fixture()
def read_only(notebook: Path) -> Iterator[Path]:
    """The capsule folder made read-only: immutable for root (whom modes do not stop), mode 0555 for anyone else."""
    capsule = notebook.with_name("analysis.capsule")
    if os.geteuid() == 0:
        require(shutil.which("chattr") is not None, "chattr (e2fsprogs) makes a folder read-only for root")
        done = subprocess.run(["chattr", "+i", str(capsule)], capture_output=True, text=True, check=False)
        require(done.returncode == 0, f"a filesystem that supports chattr +i ({done.stderr.strip()})")
        yield capsule
        subprocess.run(["chattr", "-i", str(capsule)], check=True)
    else:
        capsule.chmod(0o555)
        yield capsule
        capsule.chmod(0o755)


def test_snapshotting_into_a_read_only_capsule_is_one_sentence(notebook: Path, index: FakeIndex, read_only: Path) -> None:
    with pytest.raises(CapsuleError) as raised:
        make_capsule(notebook, index)

    message = str(raised.value)
    assert message.startswith(f"Cannot write into the capsule folder {read_only} (") and "\n" not in message
    assert message.endswith(
        "where a snapshot replaces the capsule; make it writable, or copy the capsule to a folder you can write to."
    )
    assert read_capsule(read_only).capsule_hash  # the previous capsule is intact
    assert not [p for p in read_only.parent.iterdir() if p.name.endswith((".partial", ".old"))]


class NoImages:
    """An engine without the capsule's image; anything beyond looking it up would be a build."""

    class images:  # noqa: N801 - the SDK's attribute name
        @staticmethod
        def get(name: str) -> Any:
            raise ImageNotFound(f"No such image: {name}")


def test_building_a_read_only_capsule_is_refused_before_any_work(read_only: Path) -> None:
    with pytest.raises(CapsuleError) as raised:
        build(read_only, client=NoImages(), base_image="python:3.11.2-slim-bookworm")

    assert str(raised.value).startswith(f"Cannot write into the capsule folder {read_only} (")
    assert str(raised.value).endswith(
        "where a build writes its Dockerfile and build.json; make it writable, or copy the capsule to a folder you can write to."
    )


def test_pushing_from_a_read_only_capsule_is_refused_before_pushing(read_only: Path) -> None:
    from envcapsule.image.build import image_tag
    from tests.share.fake_engine import FakeEngine

    engine = FakeEngine()
    engine.add_image(image_tag(read_capsule(read_only)))

    with pytest.raises(CapsuleError, match="where a push records its digest in push.json"):
        push(read_only, "127.0.0.1:5000/team", engine)

    tag = image_tag(read_capsule(read_only))
    assert engine.pushed == [] and engine.images.get(tag).tags == [tag]
