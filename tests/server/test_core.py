"""LocalCore hands the request's choices to the same functions the CLI calls."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import envcapsule.run.notebook
import envcapsule.server.core
from envcapsule.progress import NullProgress
from envcapsule.server.core import LocalCore


def test_launch_passes_the_gpus_to_launch_notebook_and_closes_its_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    client = SimpleNamespace(closed=False)
    client.close = lambda: setattr(client, "closed", True)
    calls: list[tuple[Path, Any, dict[str, Any]]] = []

    def launch_notebook(target: Path, engine: Any, **options: Any) -> Any:
        calls.append((target, engine, options))
        return SimpleNamespace(to_json=lambda: {"url": "http://127.0.0.1:49153/lab?token=t0k3n"})

    monkeypatch.setattr(envcapsule.server.core, "connect", lambda: client)
    monkeypatch.setattr(envcapsule.run.notebook, "launch_notebook", launch_notebook)
    notebook = tmp_path / "analysis.ipynb"
    progress = NullProgress()

    result = LocalCore().launch(notebook, "/usr/bin/python3", None, "none", progress)

    assert result == {"url": "http://127.0.0.1:49153/lab?token=t0k3n"}
    assert calls == [(notebook, client, {"python": "/usr/bin/python3", "base_image": None, "gpus": "none", "progress": progress})]
    assert client.closed
