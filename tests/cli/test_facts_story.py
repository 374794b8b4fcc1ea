"""`envcapsule inspect --json > facts.json` on one machine, `envcapsule snapshot NOTEBOOK --facts facts.json` on another.

Typed at a shell as the README shows it: the capsule made from the facts file is the capsule a
snapshot of the interpreter itself makes, and a facts file edited by hand is refused in one sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envcapsule import _toml as tomllib
from tests.cli.shell import TINY_NOTEBOOK, envcapsule, ok
from tests.support import debian_venv

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def laptop_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An environment of index packages only: a pure one and one with a wheel per platform."""
    return debian_venv(tmp_path_factory.mktemp("laptop"), "six==1.17.0", "tabulate==0.9.0", "markupsafe==3.0.2")


def notebook(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "analysis.ipynb"
    path.write_text(json.dumps(TINY_NOTEBOOK))
    return path


def test_a_snapshot_from_the_facts_file_is_the_snapshot_of_the_interpreter(
    laptop_env: Path, tmp_path: Path, shared_cache: Path
) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(ok(envcapsule("inspect", "--python", laptop_env, "--json", cache=shared_cache)).stdout)  # what `>` writes
    nb = notebook(tmp_path / "project")
    here = ok(
        envcapsule("snapshot", nb, "--python", laptop_env, "--out", tmp_path / "here.capsule", "--json", cache=shared_cache)
    )
    there = ok(envcapsule("snapshot", nb, "--facts", facts, "--out", tmp_path / "there.capsule", "--json", cache=shared_cache))
    assert there.json()["capsule_hash"] == here.json()["capsule_hash"]
    assert (tmp_path / "there.capsule" / "pylock.toml").read_text() == (tmp_path / "here.capsule" / "pylock.toml").read_text()
    lock = tomllib.loads((tmp_path / "there.capsule" / "pylock.toml").read_text())
    markupsafe = next(p for p in lock["packages"] if p["name"] == "markupsafe")
    names = [w["url"].rsplit("/", 1)[-1] for w in markupsafe["wheels"]]
    assert any("x86_64" in n for n in names) and any("aarch64" in n for n in names)


def test_a_hand_edited_facts_file_is_refused_with_one_sentence(laptop_env: Path, tmp_path: Path, shared_cache: Path) -> None:
    document = json.loads(ok(envcapsule("inspect", "--python", laptop_env, "--json", cache=shared_cache)).stdout)
    six = next(d for d in document["distributions"] if d["name"] == "six")
    six["version"] = "1.16.0"
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(document))
    nb = notebook(tmp_path / "project")
    refused = envcapsule("snapshot", nb, "--facts", facts, cache=shared_cache)
    assert refused.code == 1
    assert "was changed after `envcapsule inspect` wrote it" in refused.stderr
    assert not nb.with_name("analysis.capsule").exists()


def test_an_unknown_platform_is_refused_before_any_work(tmp_path: Path, shared_cache: Path) -> None:
    nb = notebook(tmp_path / "project")
    refused = envcapsule("snapshot", nb, "--platform", "linux/s390x", "--json", cache=shared_cache)
    assert refused.code == 2
    assert refused.json()["code"] == "usage" and "not linux/s390x" in refused.json()["error"]
