"""From a live kernel: `%envcapsule snapshot` carries the helper module the kernel imported and the CSV it read,
and the capsule builds and verifies on the real engine.

The kernel is Debian's python3 with envcapsule installed in its environment, as the magic needs;
envcapsule and what only it needs are left out of the capsule as tooling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from envcapsule import _toml as tomllib
from tests.support import BASE_IMAGE, debian_venv, files_project, kernelspec, run

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_magic_carries_what_the_kernel_imported_and_read(
    tmp_path: Path, shared_cache: Path, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = debian_venv(tmp_path / "kernel", "ipykernel")
    run(python, "-m", "pip", "install", "--quiet", ROOT)
    monkeypatch.setenv("JUPYTER_PATH", str(kernelspec(tmp_path / "jupyter", "files-kernel", python)))
    monkeypatch.setenv("ENVCAPSULE_CACHE_DIR", str(shared_cache))
    monkeypatch.setenv("ENVCAPSULE_BASE_IMAGE", BASE_IMAGE)

    folder = tmp_path / "project"
    folder.mkdir()
    notebook = files_project(folder)
    (folder / "unrelated.txt").write_text("never opened by the kernel\n")
    nb = f"--notebook {notebook} --progress none"
    driver = new_notebook(metadata={"kernelspec": {"name": "files-kernel", "display_name": "files", "language": "python"}})
    driver.cells = [
        new_code_cell("%load_ext envcapsule"),
        new_code_cell("import helpers\nhelpers.double(21)"),
        new_code_cell("open('data/input.csv').read().splitlines()[1]"),
        new_code_cell(f"%envcapsule snapshot {nb}"),
        new_code_cell(f"%envcapsule build {nb}"),
        new_code_cell(f"%envcapsule verify {nb}"),
    ]
    NotebookClient(driver, timeout=900, kernel_name="files-kernel", resources={"metadata": {"path": str(folder)}}).execute()
    text = ["".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs) for cell in driver.cells]

    manifest = tomllib.loads((folder / "analysis.capsule" / "capsule.toml").read_text())
    assert sorted(item["path"] for item in manifest["files"]) == ["data/input.csv", "helpers.py"], text[3]
    assert "envcapsule" in manifest["excluded"]["tooling"]
    assert text[4].startswith("envcapsule build: image built"), text[4]
    image = text[4].splitlines()[1].strip()
    try:
        assert text[5].startswith("envcapsule verify: "), text[5]
        assert "reproduced" in text[5].splitlines()[0], text[5]
    finally:
        docker_client.images.remove(image, force=True)
