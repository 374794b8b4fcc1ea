"""Fixtures for the share/ tests: real throwaway git repositories and a small capsule, no network, no Docker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from envcapsule.facts import Distribution, EnvironmentFacts, Interpreter, PipConfig, Platform
from envcapsule.share import binder as binder_module
from envcapsule.snapshot import snapshot
from tests.fakeindex import FakeIndex

SERVER_REQUIREMENTS = "# fake server environment\nnotebook==7.4.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"


def git(repository: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    completed = subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, env=env, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def init_repository(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    return root


def commit_all(root: Path, message: str = "work") -> str:
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


def write_notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


@pytest.fixture(autouse=True)
def _isolated_git_and_pip(monkeypatch: pytest.MonkeyPatch, no_pip_environment: None) -> None:
    """git reads no user configuration, and pip settings of this machine never reach the capsule."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture(autouse=True)
def _no_server_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server environment's lock needs the index; unit tests use a fixed one."""
    monkeypatch.setattr(binder_module, "server_requirements", lambda capsule, progress: SERVER_REQUIREMENTS)


@pytest.fixture(scope="session")
def index() -> Iterator[FakeIndex]:
    with FakeIndex(mode="html") as served:
        served.add_file("six", "six-1.17.0-py2.py3-none-any.whl", content=b"six wheel")
        yield served


def make_capsule(notebook: Path, index: FakeIndex) -> Path:
    facts = EnvironmentFacts(
        interpreter=Interpreter("cpython", "3.11.2", "cp311", sys.executable, "/env", "/usr", "venv"),
        platform=Platform(os="linux", system="Linux", machine="x86_64", libc="glibc", libc_version="2.36"),
        distributions=(Distribution("six", "1.17.0", wheel_tags=("py2-none-any", "py3-none-any")),),
        pip_config=PipConfig(index_url=index.url),
        environment={"LANG": "C.UTF-8"},
    )
    return snapshot(notebook, python=sys.executable, facts=facts).capsule


@pytest.fixture()
def project(tmp_path: Path, index: FakeIndex) -> Path:
    """A git repository with notebooks/analysis.ipynb and its capsule, all committed; returns the notebook."""
    root = init_repository(tmp_path / "project")
    notebook = write_notebook(root / "notebooks" / "analysis.ipynb")
    make_capsule(notebook, index)
    commit_all(root, "analysis")
    return notebook


def booby_trap(root: Path, markers: Path) -> list[str]:
    """Configure ``root`` to run commands on a read: an fsmonitor hook, every hook, a clean/process filter on notebooks.

    Each leaves a file in ``markers`` when it runs; returns the names they would leave.
    """
    markers.mkdir(parents=True, exist_ok=True)

    def script(name: str) -> str:
        path = markers.parent / f"{name}.sh"
        path.write_text(f"#!/bin/sh\ntouch '{markers / name}'\ncat\n")
        path.chmod(0o755)
        return str(path)

    hooks = root / ".git" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    for hook in ("post-index-change", "pre-commit", "post-checkout", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch '{markers / 'hook'}'\n")
        (hooks / hook).chmod(0o755)
    git(root, "config", "core.fsmonitor", script("fsmonitor"))
    git(root, "config", "filter.trap.clean", script("clean"))
    git(root, "config", "filter.trap.required", "true")
    (root / ".gitattributes").write_text("*.ipynb filter=trap\n")
    return ["clean", "fsmonitor", "hook"]


def touch_without_change(path: Path) -> None:
    """Same bytes, a new modification time: git must read the file (through its filters) to see it is unchanged."""
    content = path.read_bytes()
    stat = path.stat()
    path.write_bytes(content)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
