"""LocalCore hands the request's choices to the same functions the CLI calls."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import envcapsule.api
import envcapsule.server.core
from envcapsule.progress import NullProgress
from envcapsule.server.core import LocalCore


def test_launch_passes_the_request_s_choices_to_the_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[Path, dict[str, Any]]] = []

    def launch(target: Path, **options: Any) -> Any:
        calls.append((target, options))
        return SimpleNamespace(to_json=lambda: {"url": "http://127.0.0.1:49153/lab?token=t0k3n"})

    monkeypatch.setattr(envcapsule.api, "launch", launch)
    notebook = tmp_path / "analysis.ipynb"
    progress = NullProgress()

    result = LocalCore().launch(notebook, "/usr/bin/python3", None, "none", progress)

    assert result == {"url": "http://127.0.0.1:49153/lab?token=t0k3n"}
    expected = {"python": "/usr/bin/python3", "base_image": None, "gpus": "none", "memory": None, "cpus": None}
    assert calls == [(notebook, {**expected, "progress": progress})]
