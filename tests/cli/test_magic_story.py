"""Each `%envcapsule` subcommand run in a real kernel, driven by nbclient, against the real engine.

The kernel runs this test's Python (which has envcapsule installed, as the magic needs); the
notebook it works on is the tiny notebook whose capsule and image the session already made,
and the default base image comes from ENVCAPSULE_BASE_IMAGE in the kernel's environment.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from tests.support import BASE_IMAGE, kernelspec, run

pytestmark = pytest.mark.integration


def _text(cell: Any) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_every_subcommand_in_a_live_kernel(
    tiny_notebook: Path,
    tiny_capsule: dict[str, Any],
    shared_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_client: Any,
) -> None:
    monkeypatch.setenv("ENVCAPSULE_BASE_IMAGE", BASE_IMAGE)
    monkeypatch.setenv("ENVCAPSULE_CACHE_DIR", str(shared_cache))
    kernel = "envcapsule-magic"
    monkeypatch.setenv("JUPYTER_PATH", str(kernelspec(tmp_path / "jupyter", kernel, sys.executable)))

    repository = tmp_path / "study"
    repository.mkdir()
    shutil.copy(tiny_notebook, repository / "tiny.ipynb")
    shutil.copytree(tiny_notebook.with_name("tiny.capsule"), repository / "tiny.capsule")
    git = ("git", "-C", repository, "-c", "user.name=Test", "-c", "user.email=test@example.org")
    run(*git, "init", "-q")
    run(*git, "remote", "add", "origin", "https://github.com/octo/study.git")
    run(*git, "add", "-A")
    run(*git, "commit", "-qm", "study")

    nb = f"--notebook {tiny_notebook}"
    cells = [
        "%load_ext envcapsule",
        f"%envcapsule status {nb}",
        f"%envcapsule diff {nb}",
        f"%envcapsule build {nb} --progress text",
        f"launched = %envcapsule launch {nb} --progress none\nlaunched",
        "%envcapsule ps",
        "%envcapsule stop {launched.verdict.split()[-1]}",
        f"%envcapsule doctor {nb}",
        f"%envcapsule verify {nb} --progress none",
        f"%envcapsule share --notebook {repository / 'tiny.ipynb'} --progress none",
        "%envcapsule launch --notebook /nonexistent/x.ipynb --progress none",
        "print('kernel still alive')",
    ]
    path = tmp_path / "driver.ipynb"
    notebook = new_notebook(metadata={"kernelspec": {"name": kernel, "display_name": "magic", "language": "python"}})
    notebook.cells = [new_code_cell(source) for source in cells]
    nbformat.write(notebook, path)
    try:
        NotebookClient(
            notebook, timeout=600, kernel_name=kernel, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        left = docker_client.containers.list(filters={"label": f"envcapsule.capsule-hash={tiny_capsule['capsule_hash']}"})
        for container in left:  # only if the stop cell failed: the assertions below say why
            container.remove(force=True)
    out = [_text(cell) for cell in notebook.cells]
    assert not left, out[6]

    # This kernel's environment is not the tiny capsule's, and the magic says how it differs.
    assert out[1].startswith("envcapsule status: drifted")
    assert "drift: " in out[1] and " added" in out[1]
    assert out[2].startswith("envcapsule diff: ") and "change(s) since the snapshot" in out[2]
    assert "envcapsule build: image up to date" in out[3] and tiny_capsule["image"] in out[3]
    assert "envcapsule launch: running as envcapsule-" in out[4]  # after the link the magic displays
    name = out[4].split("running as ", 1)[1].split()[0]
    assert out[5].startswith("envcapsule ps: ") and name in out[5]
    assert out[6] == "envcapsule stop: stopped 1 container(s)"
    assert out[7].startswith("envcapsule doctor: ready")
    assert out[8].startswith("envcapsule verify: All 1 checked cells of tiny.ipynb reproduced")
    assert out[9].startswith("envcapsule share: ") and "link: https://mybinder.org/v2/gh/octo/study/" in out[9]
    assert out[10].startswith("UsageError: ") and "does not exist" in out[10]
    assert out[11] == "kernel still alive\n"
