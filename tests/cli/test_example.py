"""The README's first command, `scripts/example`, and its build-and-launch block, typed from the repository root.

The base image comes from ENVCAPSULE_BASE_IMAGE (no registry is reachable here), and
BROWSER=true stands in for the browser `envcapsule launch` opens.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.cli.shell import envcapsule, ok
from tests.support import BASE_IMAGE

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/data-analysis.ipynb"


@pytest.fixture(scope="module")
def example() -> str:
    done = subprocess.run(
        ["scripts/example"], cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_scripts_example_snapshots_the_example_notebook(example: str) -> None:
    assert "Capsule written: " in example and "data-analysis.capsule" in example
    locked = next(line for line in example.splitlines() if line.strip().startswith("locked"))
    count, total = locked.split()[1], locked.split()[3]
    assert count == total and int(total) > 10, locked  # every distribution of the example kernel is locked
    assert (ROOT / "notebooks" / "data-analysis.capsule" / "pylock.toml").is_file()
    # The notebook's kernel is registered with .venv's JupyterLab, so Lab opens it in the captured environment.
    assert (ROOT / ".venv" / "share" / "jupyter" / "kernels" / "envcapsule-example" / "kernel.json").is_file()
    status = ok(envcapsule("status", NOTEBOOK, "--json", cwd=ROOT)).json()
    assert (status["state"], status["changes"]) == ("up-to-date", [])


def test_the_readme_build_and_launch_block(example: str, docker_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCAPSULE_BASE_IMAGE", BASE_IMAGE)
    monkeypatch.setenv("BROWSER", "true")
    monkeypatch.chdir(ROOT)
    built = ok(envcapsule("build", NOTEBOOK, cwd=ROOT))
    assert built.stdout.startswith(("Image built: envcapsule/data-analysis:", "Image up to date: envcapsule/data-analysis:"))
    image = built.stdout.split()[2]
    try:
        launched = ok(envcapsule("launch", NOTEBOOK, cwd=ROOT))
        assert launched.stdout.startswith("Running: envcapsule-")
        name = launched.stdout.split()[1]
        url = next(line.split()[-1] for line in launched.stdout.splitlines() if line.strip().startswith("open"))
        assert "/lab/tree/data-analysis.ipynb?token=" in url
        base, token = url.split("/lab/", 1)[0], url.split("token=", 1)[1]
        with urllib.request.urlopen(f"{base}/api/kernelspecs?token={token}", timeout=10) as response:
            kernels = json.load(response)["kernelspecs"]
        assert {"python3", "envcapsule-example"} <= set(kernels)  # the notebook opens in its own kernel, without asking
        status = ok(envcapsule("status", NOTEBOOK, cwd=ROOT))
        assert status.stdout.startswith("Up to date: data-analysis.ipynb")
        assert f"running       {name}" in status.stdout
        assert name in ok(envcapsule("ps", cwd=ROOT)).stdout
        assert ok(envcapsule("stop", name, cwd=ROOT)).stdout.strip() == "Stopped and removed 1 container(s)."
    finally:
        for container in docker_client.containers.list(all=True, filters={"ancestor": image}):
            container.remove(force=True)
        docker_client.images.remove(image, force=True)
