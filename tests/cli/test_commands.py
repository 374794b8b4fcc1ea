"""The `envcapsule` command typed at a shell, for the stories that need no Docker engine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from envcapsule.commands import COMMANDS
from tests.cli.shell import TINY_NOTEBOOK, envcapsule, ok


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An interpreter with no distributions at all: a snapshot of it needs no package index."""
    folder = tmp_path_factory.mktemp("bare")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "env")], check=True)
    return folder / "env" / "bin" / "python"


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "study.ipynb"
    path.write_text(json.dumps(TINY_NOTEBOOK))
    return path


def test_every_command_has_help_that_teaches() -> None:
    for name, command in COMMANDS.items():
        shown = ok(envcapsule(name, "--help")).stdout
        assert command.description.split("\n")[0] in shown, name
        assert "--json" in shown, name


def test_python_dash_m_is_the_same_command() -> None:
    completed = subprocess.run([sys.executable, "-m", "envcapsule", "--version"], capture_output=True, text=True, check=True)
    assert completed.stdout == ok(envcapsule("--version")).stdout
    assert completed.stdout.startswith("envcapsule ")


def test_snapshot_then_status_and_diff(notebook: Path, bare_python: Path) -> None:
    snap = ok(envcapsule("snapshot", notebook, "--python", bare_python))
    assert "Capsule written:" in snap.stdout and "locked        0 of 0 distributions" in snap.stdout
    # Off a terminal, progress is one line per step on stderr, never a live display.
    assert "Finding the kernel's interpreter" in snap.stderr and "\x1b[" not in snap.stderr

    status = envcapsule("status", notebook, "--python", bare_python, "--json")
    assert status.code == 0, status.stderr
    assert status.json()["state"] == "up-to-date"
    assert "Up to date:" in envcapsule("status", notebook, "--python", bare_python).stdout

    assert ok(envcapsule("diff", notebook, "--python", bare_python, "--json")).json()["identical"] is True


def test_status_without_a_capsule_says_how_to_make_one(notebook: Path, bare_python: Path) -> None:
    status = envcapsule("status", notebook, "--python", bare_python)
    assert status.code == 1
    assert f"no capsule yet; `envcapsule snapshot {notebook.name}` makes one" in status.stdout


def test_a_status_of_a_drifted_capsule_summarises_it(notebook: Path, bare_python: Path) -> None:
    ok(envcapsule("snapshot", notebook, "--python", bare_python))
    drifted = envcapsule("status", notebook, "--python", sys.executable, "--json")
    assert drifted.code == 1
    # This test's own Python has every test tool installed; the bare interpreter had nothing.
    assert drifted.json()["state"] == "drifted"
    assert re.fullmatch(r"\d+ added", drifted.json()["summary"]), drifted.json()["summary"]


def test_errors_are_one_sentence_with_a_code_in_json(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ipynb"
    failed = envcapsule("snapshot", missing, "--json")
    assert failed.code == 1
    assert failed.json()["code"] == "notebook"
    assert failed.json()["error"] == f"The notebook {missing} does not exist; check the path."
    human = envcapsule("snapshot", missing)
    assert human.stderr.strip() == f"error: The notebook {missing} does not exist; check the path."
    assert "Traceback" not in human.stderr


def test_share_without_a_kind_explains_the_kinds(notebook: Path) -> None:
    refused = envcapsule("share", notebook)
    assert refused.code == 2
    for kind in ("--binder", "envcapsule push", "envcapsule export"):
        assert kind in refused.stderr
    assert not (notebook.parent / "binder").exists()


def test_stop_without_a_container_says_how_to_name_one() -> None:
    refused = envcapsule("stop", "--json")
    assert (refused.code, refused.json()["code"]) == (2, "usage")
    assert "`envcapsule ps`" in refused.json()["error"] and "`--all`" in refused.json()["error"]


def test_a_broken_config_file_is_one_sentence_before_any_work(
    notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('base_image = "mirror/python:3.11"\ncolour = "blue"\n')
    monkeypatch.setenv("ENVCAPSULE_CONFIG", str(config))
    monkeypatch.delenv("ENVCAPSULE_BASE_IMAGE", raising=False)
    failed = envcapsule("build", notebook, "--context", tmp_path / "context", "--json")
    assert (failed.code, failed.json()["code"]) == (1, "config")
    assert "unknown setting(s) colour" in failed.json()["error"]
    assert not (tmp_path / "context").exists()
    assert not notebook.with_name("study.capsule").exists()


def test_launch_of_a_missing_notebook_is_not_taken_for_an_image(tmp_path: Path) -> None:
    missing = tmp_path / "gone.ipynb"
    refused = envcapsule("launch", missing, "--no-browser", "--json")
    assert (refused.code, refused.json()["code"]) == (1, "notebook")
    assert refused.json()["error"] == f"The notebook {missing} does not exist; check the path."
