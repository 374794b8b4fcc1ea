"""The JupyterHub example config runs and says what envcapsule images need; this repository's own binder/ is sound."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from traitlets.config import Config

ROOT = Path(__file__).parents[2]
REF = "registry.example.org/team/analysis@sha256:" + "ab" * 32


def load_config(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Config:
    for name in ("ENVCAPSULE_IMAGE", "ENVCAPSULE_NOTEBOOK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = Config()
    source = (ROOT / "docs" / "jupyterhub_config.py").read_text()
    exec(compile(source, "jupyterhub_config.py", "exec"), {"get_config": lambda: config, "__name__": "jupyterhub_config"})
    return config


def test_dockerspawner_runs_the_pushed_image_with_the_single_user_server(monkeypatch: pytest.MonkeyPatch) -> None:
    c = load_config(monkeypatch, ENVCAPSULE_IMAGE=REF, ENVCAPSULE_NOTEBOOK="report.ipynb")
    assert c.JupyterHub.spawner_class == "dockerspawner.DockerSpawner"
    assert c.DockerSpawner.image == REF
    assert c.DockerSpawner.cmd == ["jupyterhub-singleuser"]
    assert c.DockerSpawner.default_url == "/lab/tree/report.ipynb"
    assert c.DockerSpawner.notebook_dir == "/home/jovyan"
    assert list(c.DockerSpawner.volumes.values()) == ["/home/jovyan/work"]  # the image's $HOME stays visible
    assert c.DockerSpawner.extra_host_config["cap_drop"] == ["ALL"]


def test_without_a_ref_the_config_holds_a_placeholder_of_the_right_form(monkeypatch: pytest.MonkeyPatch) -> None:
    c = load_config(monkeypatch)
    assert re.fullmatch(r"[a-z0-9.:-]+(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}", c.DockerSpawner.image)
    assert c.DockerSpawner.default_url == "/lab/tree/analysis.ipynb"


def test_the_guide_shows_the_settings_the_config_uses() -> None:
    guide = (ROOT / "docs" / "jupyterhub.md").read_text()
    assert 'c.DockerSpawner.cmd = ["jupyterhub-singleuser"]' in guide
    assert "cmd: jupyterhub-singleuser" in guide and "c.KubeSpawner.image" in guide
    assert "--NotebookApp.base_url" in guide


def test_this_repository_launches_its_quickstart_on_binder() -> None:
    binder = ROOT / "binder"
    assert (binder / "runtime.txt").read_text() == "python-3.11\n"
    lines = [line for line in (binder / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert lines == [".", "-r ../notebooks/requirements.txt"]  # envcapsule from the checkout, then the kernel's packages
    assert (ROOT / "notebooks" / "requirements.txt").is_file() and (ROOT / "notebooks" / "quickstart.ipynb").is_file()
    assert not (ROOT / ".binder").exists()  # repo2docker refuses a repository with both
