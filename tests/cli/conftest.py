"""The `envcapsule` command as a user types it: the installed console script, run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The real engine and the index cache are the integration suite's session fixtures.
from tests.integration.conftest import BASE_IMAGE, debian_venv, docker_client, shared_cache  # noqa: F401

ENVCAPSULE = Path(sys.executable).with_name("envcapsule")
TINY_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": 1,
            "id": "c1",
            "metadata": {},
            "outputs": [{"data": {"text/plain": ["42"]}, "execution_count": 1, "metadata": {}, "output_type": "execute_result"}],
            "source": ["6 * 7"],
        }
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def envcapsule(*args: str | Path, cache: Path | None = None, cwd: Path | None = None, timeout: float = 900) -> Completed:
    """Run the installed `envcapsule` script exactly as typed at a shell, with no terminal attached."""
    env = dict(os.environ)
    if cache is not None:
        env["ENVCAPSULE_CACHE_DIR"] = str(cache)
    done = subprocess.run(
        [str(ENVCAPSULE), *(str(a) for a in args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr)


def ok(completed: Completed) -> Completed:
    assert completed.code == 0, f"exit {completed.code}\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    return completed


@pytest.fixture(scope="session")
def tiny_kernel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smallest kernel environment a notebook runs in: Debian's python3 with ipykernel."""
    return debian_venv(tmp_path_factory.mktemp("tiny-kernel"), "ipykernel")


@pytest.fixture(scope="session")
def tiny_notebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("project") / "tiny.ipynb"
    path.write_text(json.dumps(TINY_NOTEBOOK, indent=1))
    return path


@pytest.fixture(scope="session")
def tiny_capsule(tiny_notebook: Path, tiny_kernel: Path, shared_cache: Path, docker_client: Any) -> Iterator[dict[str, Any]]:
    """`envcapsule snapshot` then `envcapsule build` of the tiny notebook; its image is removed afterwards."""
    ok(envcapsule("snapshot", tiny_notebook, "--python", tiny_kernel, "--json", cache=shared_cache))
    built = ok(envcapsule("build", tiny_notebook, "--base-image", BASE_IMAGE, "--json", cache=shared_cache)).json()
    yield built
    docker_client.images.remove(built["image_id"], force=True)
