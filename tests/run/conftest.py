"""Fixtures for the run/ tests: a private runtime-record folder, a fake engine with a loopback Jupyter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.run.fake_engine import FakeEngine, FakeJupyter


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runtime records (the tokens) go to a throwaway folder, never the user's."""
    runtime = tmp_path_factory.mktemp("xdg-runtime")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    return runtime / "envcapsule"


@pytest.fixture
def jupyter() -> Iterator[FakeJupyter]:
    with FakeJupyter().serving() as server:
        yield server


@pytest.fixture
def engine(jupyter: FakeJupyter) -> FakeEngine:
    return FakeEngine(jupyter)
