"""Shared test policy: outside CI a missing dependency skips a test; under CI=true it fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEBIAN_PYTHON = Path("/usr/bin/python3")


def require(condition: bool, reason: str) -> None:
    """Skip when a dependency is missing, except under CI=true, where nothing may hide."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never share envcapsule's on-disk caches with the user's."""
    monkeypatch.setenv("ENVCAPSULE_CACHE_DIR", str(tmp_path_factory.mktemp("envcapsule-cache")))


@pytest.fixture
def no_pip_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip settings of this machine (PIP_* variables) never reach a capsule made in the test."""
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)
