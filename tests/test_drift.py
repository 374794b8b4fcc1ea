"""Drift between a capsule and the live environment, named package by package."""

from __future__ import annotations

from dataclasses import replace

from envcapsule.drift import compare
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, Platform

BASE = EnvironmentFacts(
    interpreter=Interpreter("cpython", "3.11.2", "cp311", "/e/bin/python", "/e", "/usr", "venv"),
    platform=Platform(os="linux", system="Linux", machine="x86_64", libc_version="2.36"),
    distributions=(
        Distribution("numpy", "2.1.0", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",)),
        Distribution("six", "1.17.0", wheel_tags=("py3-none-any",)),
        Distribution("tool", "0.3", direct_url={"url": "u", "vcs_info": {"vcs": "git", "commit_id": "a" * 40}}),
    ),
)


def with_dists(*dists: Distribution) -> EnvironmentFacts:
    return replace(BASE, distributions=dists)


def test_identical_environments_have_no_drift() -> None:
    assert compare(BASE, BASE).identical


def test_added_removed_and_upgraded_packages_are_named() -> None:
    numpy, _, tool = BASE.distributions
    live = with_dists(replace(numpy, version="2.2.0"), tool, Distribution("rich", "14.0"))
    drift = compare(BASE, live)
    assert drift.lines() == ["numpy 2.1.0 → 2.2.0", "rich 14.0 was added", "six 1.17.0 was removed"]
    assert drift.to_json()["packages"]["numpy"] == {"kind": "changed", "old": "2.1.0", "new": "2.2.0"}


def test_a_new_commit_at_the_same_version_is_a_change() -> None:
    numpy, six, tool = BASE.distributions
    moved = replace(tool, direct_url={"url": "u", "vcs_info": {"vcs": "git", "commit_id": "b" * 40}})
    [change] = compare(BASE, with_dists(numpy, six, moved)).packages
    assert change.name == "tool" and change.old and "aaaaaaaaaaaa" in change.old and change.new and "bbbbbbbbbbbb" in change.new


def test_interpreter_and_platform_changes() -> None:
    live = replace(
        BASE,
        interpreter=replace(BASE.interpreter, version="3.11.9"),
        platform=replace(BASE.platform, libc_version="2.39"),
    )
    assert compare(BASE, live).lines() == ["interpreter cpython 3.11.2 → cpython 3.11.9", "libc 2.36 → 2.39"]


def test_ignored_names_are_not_drift() -> None:
    live = with_dists(*BASE.distributions, Distribution("envcapsule", "0.1.0"))
    assert compare(BASE, live, ignore={"envcapsule"}).identical
