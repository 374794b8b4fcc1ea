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


def test_a_capsule_from_another_platform_is_compared_by_version_and_says_so() -> None:
    from envcapsule.drift import compare
    from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, Platform

    interpreter = Interpreter("cpython", "3.11.2", "cp311", "/env/bin/python", "/env", "/usr", "venv")
    ipykernel = Distribution("ipykernel", "6.29.5", requires_dist=("appnope; platform_system == 'Darwin'",))
    mac = EnvironmentFacts(
        interpreter=interpreter,
        platform=Platform(os="darwin", system="Darwin", machine="arm64"),
        distributions=(
            ipykernel,
            Distribution("appnope", "0.1.4", wheel_tags=("py3-none-any",)),
            Distribution("numpy", "2.2.6", wheel_tags=("cp311-cp311-macosx_11_0_arm64",)),
            Distribution("pandas", "2.2.3", wheel_tags=("cp311-cp311-macosx_11_0_arm64",)),
        ),
    )
    linux = EnvironmentFacts(
        interpreter=interpreter,
        platform=Platform(os="linux", system="Linux", machine="x86_64"),
        distributions=(
            ipykernel,
            Distribution("numpy", "2.2.6", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",)),
            Distribution("pandas", "2.3.0", wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",)),
        ),
    )
    drift = compare(mac, linux)
    assert drift.compared == "versions"
    assert [c.describe() for c in drift.packages] == ["pandas 2.2.3 → 2.3.0"]  # numpy's other wheel is no drift
    assert (
        drift.notes[0]
        == "The capsule was captured on darwin/arm64 and this environment is linux/amd64, so versions are compared, not files."
    )
    assert "appnope is only on darwin/arm64, as its markers say." in drift.notes
    assert not drift.platform
