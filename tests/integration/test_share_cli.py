"""`envcapsule share --binder` from the command line, in a real git repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import run

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]


def git(repo: Path, *args: str) -> str:
    return run("git", "-C", repo, "-c", "user.name=Test", "-c", "user.email=test@example.org", *args)


def test_share_writes_binder_and_pins_the_link_to_the_commit(kernel_env: Path, shared_cache: Path, tmp_path: Path) -> None:
    repo = tmp_path / "project"
    (repo / "analysis").mkdir(parents=True)
    notebook = repo / "analysis" / "sales.ipynb"
    shutil.copy(ROOT / "notebooks" / "data-analysis.ipynb", notebook)
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(shared_cache)}
    run(sys.executable, "-m", "envcapsule", "snapshot", notebook, "--python", kernel_env, "--json", env=env)
    git(repo, "init", "-q")
    git(repo, "remote", "add", "origin", "git@github.com:octo/sales-study.git")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "analysis")
    commit = git(repo, "rev-parse", "HEAD").strip()

    completed = subprocess.run(
        [sys.executable, "-m", "envcapsule", "share", notebook, "--binder", "--json"], capture_output=True, text=True, env=env
    )
    assert completed.returncode == 0, completed.stderr
    shared = json.loads(completed.stdout)
    assert shared["link"] == f"https://mybinder.org/v2/gh/octo/sales-study/{commit}?urlpath=lab/tree/analysis/sales.ipynb"
    assert shared["badge"].startswith("[![Binder](https://mybinder.org/badge_logo.svg)](")
    assert (repo / "binder" / "Dockerfile").is_file() and (repo / "binder" / "requirements.txt").is_file()
    # binder/ is new and uncommitted, so the link cannot reproduce it yet: the user is told.
    assert any("binder" in warning for warning in shared["warnings"])
