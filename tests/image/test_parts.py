"""A host-installed kernel is built in parts, and a part the engine already holds is reused without sending its files."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest

from envcapsule.image.build import LayerMemo, _known_server
from envcapsule.image.dockerfile import Segments, render_dockerfile
from envcapsule.image.files import LockedFile
from tests.image.test_dockerfile import SPEC

START, PARENT, OTHER = ("sha256:" + c * 64 for c in "bde")
HOSTED = dataclasses.replace(
    SPEC,
    kernel_install="host",
    server_image="sha256:" + "a" * 64,
    start_image=START,
    kernel_layers=("kernel-large", "kernel-rest", "kernel-local"),
    system_packages="offline",
)


def instructions(text: str) -> list[str]:
    """The Dockerfile's instructions, one string each (continuations joined), comments left out."""
    return [step for step in text.replace("\\\n", " ").split("\n") if step and not step.startswith("#")]


def test_the_parts_are_exactly_the_whole_dockerfiles_instructions() -> None:
    parts = Segments(HOSTED)
    pieces = [parts.start(), *(parts.layer(PARENT, layer) for layer in HOSTED.kernel_layers), parts.end(PARENT)]
    joined = [step for piece in pieces for step in instructions(piece) if not step.startswith(f"FROM {PARENT}")]
    assert joined == instructions(render_dockerfile(HOSTED))
    assert parts.layer(PARENT, "kernel-rest") == f"FROM {PARENT}\nCOPY kernel-rest/ /opt/envcapsule/kernel/\n"
    assert "dpkg --install" in parts.start() and "LABEL " in parts.end(PARENT)


def test_a_part_starts_only_from_an_image_id_and_names_only_its_layers() -> None:
    parts = Segments(HOSTED)
    with pytest.raises(Exception, match="sha256"):
        parts.layer("python:3.11; rm -rf /", "kernel-rest")
    with pytest.raises(ValueError, match="kernel-cuda is not a kernel layer"):
        parts.layer(PARENT, "kernel-cuda")
    with pytest.raises(ValueError):
        Segments(dataclasses.replace(HOSTED, kernel_install="stages"))


class FakeImages:
    def __init__(self, images: dict[str, str | None]) -> None:
        self.images = images  # id -> its parent

    def get(self, image_id: str) -> Any:
        if image_id not in self.images:
            raise docker.errors.ImageNotFound(image_id)
        return SimpleNamespace(id=image_id, attrs={"Parent": self.images[image_id]})


def client(images: dict[str, str | None]) -> Any:
    return SimpleNamespace(images=FakeImages(images))


WHEEL = LockedFile("six", "1.17.0", "six-1.17.0-py2.py3-none-any.whl", "f" * 64, 10)


def test_a_remembered_layer_counts_only_while_the_engine_has_it_on_the_same_parent(tmp_path: Path) -> None:
    memo = LayerMemo(tmp_path, "3.11.2:1")
    key = memo.key(PARENT, "kernel-rest", [WHEEL])
    memo.put(key, OTHER)

    assert memo.get(client({OTHER: PARENT}), key, PARENT) == OTHER
    assert memo.get(client({OTHER: START}), key, PARENT) is None  # the same id on another parent is not this layer
    assert memo.get(client({}), key, PARENT) is None  # removed with the capsule's image: built again
    assert memo.key(START, "kernel-rest", [WHEEL]) != key and memo.key(PARENT, "kernel-local", [WHEEL]) != key
    (tmp_path / key).write_text("not an image id\n")
    assert memo.get(client({OTHER: PARENT}), key, PARENT) is None


def test_the_shared_server_images_are_reused_only_while_both_exist(tmp_path: Path) -> None:
    builder, start = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    (tmp_path / "server-k").write_text(f"{builder}\n{start}\n")
    found = _known_server(client({builder: None, start: None}), tmp_path, "k")
    assert found is not None and (found.builder_id, found.start_id, found.known, found.steps) == (builder, start, True, [])
    assert _known_server(client({start: None}), tmp_path, "k") is None
    assert _known_server(client({builder: None, start: None}), tmp_path, "other key") is None
