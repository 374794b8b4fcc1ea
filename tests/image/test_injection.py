"""No capsule value becomes a Dockerfile instruction: each is refused by its grammar or travels quoted.

The capsule comes from a real snapshot; every value in its capsule.toml is then replaced, one
at a time, with a payload that would add instructions if it were spliced into the text, and
the capsule hash recomputed (as anyone who edits a capsule can do).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envcapsule import _toml as tomllib
from envcapsule.capsule import MANIFEST, capsule_hash, read_capsule, render_manifest, sha256_bytes
from envcapsule.errors import CapsuleError, EnvcapsuleError
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.image.base import BaseImage, BaseImageError
from envcapsule.image.build import chosen_base_image, image_spec
from envcapsule.image.dockerfile import ImageSpec, quoted, render_dockerfile
from envcapsule.image.files import install_plan
from envcapsule.snapshot import snapshot
from tests.fakeindex import FakeIndex

PAYLOAD = "x\nFROM busybox AS evil\nRUN id > /tmp/pwned\n#"
ONE_LINE_PAYLOAD = 'x" RUN id \\" $HOME \\'


def instructions(dockerfile: str) -> list[str]:
    """The instructions as the engine's parser sees them: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    return [line.split()[0].upper() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def rendered(folder: Path, base_image: str | None = None) -> str:
    """What `envcapsule build` renders for the capsule in ``folder``, up to the engine."""
    capsule = read_capsule(folder)
    name = chosen_base_image(capsule, base_image)
    base = BaseImage(name, "sha256:" + "b" * 64, None, capsule.manifest["interpreter"]["version"])
    return render_dockerfile(image_spec(capsule, base, install_plan(capsule), "5" * 64))


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path


def with_value(manifest: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(manifest)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    if path != ("capsule_hash",):
        changed["capsule_hash"] = capsule_hash(changed)
    return changed


@pytest.fixture(scope="module")
def index() -> Iterator[FakeIndex]:
    with FakeIndex(mode="html") as served:
        served.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        yield served


def snapshot_of(notebook: Path, index: FakeIndex) -> Path:
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    facts = EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64", distro_id="debian", distro_codename="bookworm"),
        distributions=(Distribution("six", "1.17.0", wheel_tags=("py2-none-any", "py3-none-any")),),
        pip_config=PipConfig(index_url=index.url),
        environment={"LANG": "C.UTF-8"},
        cuda={"frameworks": {"tensorflow": {"package": "tensorflow", "version": "2.16.1", "cuda": "12.3", "cudnn": "8"}}},
    )
    return snapshot(notebook, python=sys.executable, facts=facts).capsule


@pytest.fixture(scope="module")
def capsule(tmp_path_factory: pytest.TempPathFactory, index: FakeIndex) -> Path:
    return snapshot_of(tmp_path_factory.mktemp("injection") / "analysis.ipynb", index)


def test_every_capsule_value_is_refused_or_changes_no_instruction(capsule: Path, tmp_path: Path) -> None:
    original = tomllib.loads((capsule / MANIFEST).read_text())
    # Sections this capsule lacks, so that their values are tried too.
    original["warnings"] = [{"package": "six", "message": "a warning"}]
    original["conda"] = {"lockfile": "conda-lock.yml", "platform": "linux-64", "packages": 0}
    original["base_image"] = {"name": "python:3.11.2-slim-bookworm"}
    original["capsule_hash"] = capsule_hash(original)
    (capsule / MANIFEST).write_text(render_manifest(original))
    baseline = instructions(rendered(capsule))
    paths = [*leaves(original), ("environment", PAYLOAD)]  # the last one adds a key that is the payload
    refused, quoted_through = [], []
    for path in paths:
        for payload in (PAYLOAD, ONE_LINE_PAYLOAD):
            folder = tmp_path / f"case-{len(refused) + len(quoted_through)}" / capsule.name
            shutil.copytree(capsule, folder)
            (folder / MANIFEST).write_text(render_manifest(with_value(original, path, payload)))
            try:
                text = rendered(folder)
            except EnvcapsuleError as error:
                message = str(error)
                assert "\n" not in message and message.endswith("."), message
                field = path[-1] if path[0] != "environment" else path[0]
                assert str(field) in message, (path, message)
                refused.append(path)
                continue
            assert instructions(text) == baseline, (path, payload)
            assert "pwned" not in text or "RUN id > /tmp/pwned" not in text.splitlines()
            quoted_through.append(path)
    assert len(paths) > 30
    assert ("notebooks", 0, "path") in refused and ("environment", "LANG") in refused
    assert ("environment", PAYLOAD) in refused and ("interpreter", "version") in refused
    assert ("created",) in quoted_through  # free text with no line break is quoted, not refused
    assert ("warnings", 0, "message") in quoted_through  # warnings never reach the image


def test_a_notebook_named_to_split_the_header_comment_is_refused(tmp_path: Path, index: FakeIndex) -> None:
    """The reviewer's reproduction: a notebook file name whose newlines turned a comment into FROM and RUN."""
    capsule = snapshot_of(tmp_path / "z\nFROM busybox AS x\nRUN id\n#.ipynb", index)

    with pytest.raises(CapsuleError, match=r"^The capsule's notebooks\[0\]\.path \('z\\nFROM .*\) is not text on one line"):
        rendered(capsule)


def test_an_environment_key_that_carries_instructions_is_refused(capsule: Path, tmp_path: Path) -> None:
    folder = tmp_path / capsule.name
    shutil.copytree(capsule, folder)
    manifest = tomllib.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(render_manifest(with_value(manifest, ("environment", "X=1\nRUN id\nENV Y"), "1")))

    with pytest.raises(CapsuleError, match=r"environment key 'X=1\\nRUN id\\nENV Y'.* is not an environment variable name"):
        rendered(folder)


@pytest.mark.parametrize("base_image", ["python:3.11\nRUN id", "python:3.11 AS x", "--platform=linux/arm64 evil", ""])
def test_a_base_image_flag_outside_the_reference_grammar_is_one_sentence(capsule: Path, base_image: str) -> None:
    with pytest.raises(BaseImageError) as raised:
        rendered(capsule, base_image)

    assert str(raised.value).endswith("such as python:3.11-slim.") and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "base_image",
    ["python:3.11.2-slim-bookworm", "127.0.0.1:5000/team/base:1.0", "ghcr.io/o/r@sha256:" + "a" * 64, "a" * 64, "localhost/x"],
)
def test_real_image_references_are_accepted(capsule: Path, base_image: str) -> None:
    assert f"FROM {base_image}\n" in rendered(capsule, base_image)


def test_quoted_values_are_literal_and_unicode_survives() -> None:
    assert quoted('a "b" \\ $HOME ü') == '"a \\"b\\" \\\\ \\$HOME ü"'
    with pytest.raises(CapsuleError):
        quoted("two\nlines")


def test_an_image_spec_refuses_what_its_grammar_does_not_allow() -> None:
    spec = ImageSpec("python:3.11", "c" * 64, "a.ipynb", "a.capsule", "3.11.2", "now")
    for field, value in [("notebook", "../../etc/passwd"), ("capsule_dir", "a/b"), ("base_image", "x y"), ("capsule_hash", "c")]:
        with pytest.raises(CapsuleError):
            dataclasses.replace(spec, **{field: value})
    assert dataclasses.replace(spec, base_image="${BASE_IMAGE}").base_image == "${BASE_IMAGE}"  # binder/Dockerfile's ARG


def test_a_pylock_hash_that_would_add_a_requirements_line_is_refused(capsule: Path, tmp_path: Path) -> None:
    folder = tmp_path / capsule.name
    shutil.copytree(capsule, folder)
    pylock = (folder / "pylock.toml").read_text()
    edited = re.sub(r'sha256 = "[0-9a-f]{64}"', lambda _: 'sha256 = "0\\n--index-url http://evil.example/"', pylock)
    assert edited != pylock
    (folder / "pylock.toml").write_text(edited)
    manifest = tomllib.loads((folder / MANIFEST).read_text())
    index = next(i for i, r in enumerate(manifest["lockfiles"]) if r["path"] == "pylock.toml")
    digest = sha256_bytes(edited.encode())
    (folder / MANIFEST).write_text(render_manifest(with_value(manifest, ("lockfiles", index, "sha256"), digest)))

    with pytest.raises(CapsuleError, match=r"pylock\.toml package 'six' sha256 \('0\\n--index-url .* is not a sha256"):
        install_plan(read_capsule(folder))
