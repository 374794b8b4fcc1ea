"""build names every package it cannot install in one sentence, and installs an sdist through the wheel the snapshot built."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcapsule.capsule import Capsule
from envcapsule.errors import CapsuleError
from envcapsule.facts import Distribution
from envcapsule.image.files import install_plan
from envcapsule.lock.entries import BuiltWheel, LockEntry
from envcapsule.lock.pylock import build_pylock, render_pylock
from tests.test_snapshot import facts_for


def sdist(name: str, built: BuiltWheel | None = None) -> LockEntry:
    dist = Distribution(name, "1.0", wheel_tags=("py3-none-any",))
    return LockEntry(dist, "sdist", url=f"https://files.example/{name}-1.0.tar.gz", sha256="5" * 64, size=3, built=built)


def capsule_with(tmp_path: Path, *entries: LockEntry) -> Capsule:
    dists = tuple(e.distribution for e in entries)
    (tmp_path / "pylock.toml").write_text(render_pylock(build_pylock(facts_for("https://index.example/simple", *dists), entries)))
    return Capsule(tmp_path, {})


def test_every_sdist_without_a_built_wheel_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(
        CapsuleError,
        match=r"2 package\(s\) are locked to a source distribution without a wheel built from it \(docopt==1.0, simplejson==1.0\)",
    ):
        install_plan(capsule_with(tmp_path, sdist("docopt"), sdist("simplejson")))


def test_an_sdist_installs_through_its_built_wheel(tmp_path: Path) -> None:
    built = BuiltWheel("vendor/docopt-1.0-py3-none-any.whl", "6" * 64, 7)
    plan = install_plan(capsule_with(tmp_path, sdist("docopt", built)))
    names = {f.name: f for f in plan.files}
    assert names["docopt"].vendored == "vendor/docopt-1.0-py3-none-any.whl" and names["docopt"].sha256 == "6" * 64
