"""pylock.toml and requirements.txt written from lock entries."""

from __future__ import annotations

from packaging.pylock import Pylock

from envcapsule import _toml as tomllib
from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.lock.entries import LockEntry
from envcapsule.lock.pylock import build_pylock, render_pylock
from envcapsule.lock.requirements import render_requirements

FACTS = EnvironmentFacts(
    interpreter=Interpreter("cpython", "3.11.2", "cp311", "/env/bin/python", "/env", "/usr", "venv"),
    platform=Platform(os="linux", system="Linux", machine="x86_64"),
    distributions=(),
)
SHA = "ab" * 32


def entries() -> list[LockEntry]:
    return [
        LockEntry(
            Distribution("numpy", "2.1.0"),
            "wheel",
            url="https://files/numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
            sha256=SHA,
            size=100,
            index="https://pypi.org/simple",
        ),
        LockEntry(
            Distribution("torch", "2.13.0+cpu"),
            "wheel",
            url="file:///opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
            sha256=SHA,
            size=5,
            index="/opt/wheels",
        ),
        LockEntry(
            Distribution("mine", "1.0"),
            "vendored",
            vendored_path="vendor/mine-1.0-py3-none-any.whl",
            sha256=SHA,
            size=7,
            note="built",
        ),
        LockEntry(Distribution("tool", "0.3"), "vcs", url="https://github.com/o/tool.git", vcs="git", commit="c" * 40),
        LockEntry(Distribution("lost", "0.1"), "unresolved", reason="lost==0.1 is not on the configured indexes."),
    ]


def test_pylock_round_trips_through_packaging_validation() -> None:
    text = render_pylock(build_pylock(FACTS, entries()))
    lock = Pylock.from_dict(tomllib.loads(text))
    assert str(lock.lock_version) == "1.0"
    assert [p.name for p in lock.packages] == ["numpy", "torch", "mine", "tool"]
    numpy = lock.packages[0]
    assert numpy.index == "https://pypi.org/simple"
    assert numpy.wheels and numpy.wheels[0].hashes == {"sha256": SHA} and numpy.wheels[0].size == 100
    assert lock.packages[2].wheels and lock.packages[2].wheels[0].path == "vendor/mine-1.0-py3-none-any.whl"
    assert lock.packages[3].vcs and lock.packages[3].vcs.commit_id == "c" * 40


def test_unresolved_distributions_are_listed_under_the_tool_table() -> None:
    data = tomllib.loads(render_pylock(build_pylock(FACTS, entries())))
    assert data["tool"]["envcapsule"]["unresolved"] == [
        {"name": "lost", "version": "0.1", "reason": "lost==0.1 is not on the configured indexes."}
    ]


def test_requirements_pin_and_hash_every_locked_line() -> None:
    config = PipConfig(index_url="https://pypi.org/simple", find_links=("/opt/wheels",))
    text = render_requirements(entries(), config, "made by a test")
    requirement_lines = [line for line in text.splitlines() if line and not line.startswith(("#", "--", " "))]
    assert requirement_lines == ["numpy==2.1.0 \\", "torch==2.13.0+cpu \\", "./vendor/mine-1.0-py3-none-any.whl \\"]
    assert text.count(f"--hash=sha256:{SHA}") == 3
    assert "--index-url https://pypi.org/simple" in text
    assert "--find-links /opt/wheels" in text
    assert "# not locked: lost==0.1" in text
    assert "# not locked: tool==0.3" in text  # no vendored build, and pip cannot hash a VCS checkout
