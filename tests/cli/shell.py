"""The installed `envcapsule` script run as a user types it at a shell, with no terminal attached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    # A user's shell has no PYTHONPATH of this test process (pytest-jupyter sets it to pytest's own sys.path).
    env.pop("PYTHONPATH", None)
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
