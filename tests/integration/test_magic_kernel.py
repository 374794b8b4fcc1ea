"""The magic in a real kernel driven by nbclient: a cell that runs `%envcapsule snapshot` makes a capsule."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from envcapsule import _toml as tomllib
from tests.support import kernelspec

pytestmark = pytest.mark.integration


def test_snapshot_from_a_live_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = "envcapsule-test"
    monkeypatch.setenv("JUPYTER_PATH", str(kernelspec(tmp_path / "jupyter", kernel, sys.executable)))
    path = tmp_path / "live.ipynb"
    notebook = new_notebook(metadata={"kernelspec": {"name": kernel, "display_name": "test", "language": "python"}})
    notebook.cells = [
        new_code_cell("import packaging.version\nimport pytest"),
        new_code_cell("%load_ext envcapsule"),
        new_code_cell(f"%envcapsule snapshot --notebook {path} --progress text"),
        new_code_cell(f"%envcapsule diff --notebook {path} --progress none"),
        new_code_cell("%envcapsule frobnicate"),
        new_code_cell("print('kernel still alive')"),
    ]
    nbformat.write(notebook, path)
    client = NotebookClient(
        notebook, timeout=300, kernel_name=kernel, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()

    outputs = [cell.get("outputs", []) for cell in notebook.cells]
    snapshot_text = "".join(o.get("data", {}).get("text/plain", "") for o in outputs[2])
    assert "envcapsule snapshot: live.capsule written" in snapshot_text
    assert "used by the notebook:" in snapshot_text and "pytest" in snapshot_text
    manifest = tomllib.loads((tmp_path / "live.capsule" / "capsule.toml").read_text())
    assert manifest["notebooks"] == [{"path": "live.ipynb", "sha256": manifest["notebooks"][0]["sha256"]}]
    assert "envcapsule" in manifest["excluded"]["tooling"]
    diff_text = "".join(o.get("data", {}).get("text/plain", "") for o in outputs[3])
    assert diff_text == "envcapsule diff: identical to the capsule"
    usage = outputs[4][0]
    assert usage["name"] == "stderr" and usage["text"].startswith("UsageError: %envcapsule: argument SUBCOMMAND: invalid choice")
    assert outputs[5][0]["text"] == "kernel still alive\n"
