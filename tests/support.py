"""Helpers for tests that use real components: commands, kernel environments from Debian's python3, HTTP checks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEBIAN_PYTHON = Path("/usr/bin/python3")


def require(condition: bool, reason: str) -> None:
    """Skip when a dependency is missing, except under CI=true, where nothing may hide."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"missing in CI: {reason}")
    pytest.skip(reason)  # only outside CI: under CI=true the line above fails the test


BASE_IMAGE = os.environ.get("ENVCAPSULE_TEST_BASE_IMAGE", "envcapsule-test/python:3.11.2-bookworm")
PACKAGES = ["numpy", "pandas", "matplotlib", "requests", "attrs", "click", "pyparsing", "tabulate==0.9.0", "ipykernel"]


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, f"{args} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


def local_project(root: Path, name: str) -> Path:
    folder = root / name
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text(f"GREETING = 'hello from {name}'\n")
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.9"]\nbuild-backend = "flit_core.buildapi"\n\n'
        f'[project]\nname = "{name}"\nversion = "0.1.0"\ndescription = "fixture"\n'
    )
    return folder


def http_status(url: str) -> int:
    """The HTTP status a GET of ``url`` answers with (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def installed(python: Path) -> dict[str, str]:
    listing = json.loads(run(python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"))
    return {item["name"].lower().replace("_", "-"): item["version"] for item in listing}


def debian_venv(root: Path, *packages: str) -> Path:
    """A virtual environment from Debian's python3 (the base image's interpreter) with ``packages`` from the index."""
    require(DEBIAN_PYTHON.exists(), "Debian's /usr/bin/python3 is needed to make the kernel environment")
    run(DEBIAN_PYTHON, "-m", "venv", root / "env")
    python = root / "env" / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", *packages)
    return python


REGISTRY_BINARY = Path("/usr/bin/docker-registry")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http_status(url) == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s")


def executed_cell(index: int, source: str, output: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": index,
        "id": f"c{index}",
        "metadata": {},
        "outputs": [
            {"data": {"text/plain": [output]}, "execution_count": index, "metadata": {}, "output_type": "execute_result"}
        ],
        "source": [source],
    }


def files_project(folder: Path) -> Path:
    """A notebook that imports helpers.py beside it and reads data/input.csv, with a log its .envcapsuleignore leaves out."""
    notebook = folder / "analysis.ipynb"
    cells = [
        executed_cell(1, "import helpers\nhelpers.double(21)", "42"),
        executed_cell(2, "open('data/input.csv').read().splitlines()[1]", "'1,2'"),
    ]
    kernelspec = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.write_text(json.dumps({"cells": cells, "metadata": {"kernelspec": kernelspec}, "nbformat": 4, "nbformat_minor": 5}))
    (folder / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    (folder / "data").mkdir()
    (folder / "data" / "input.csv").write_text("a,b\n1,2\n")
    (folder / "scratch.log").write_text("not needed\n")
    (folder / ".envcapsuleignore").write_text("*.log\n")
    return notebook


def kernelspec(root: Path, name: str, python: Path | str) -> Path:
    """A kernelspec ``name`` under ``root`` that starts ``python``; returns ``root``, for JUPYTER_PATH."""
    folder = root / "kernels" / name
    folder.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (folder / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": name, "language": "python"}))
    return root
