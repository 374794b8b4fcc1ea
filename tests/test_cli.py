"""The envcapsule command: help that teaches, one sentence and a non-zero exit for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envcapsule.cli import main


def test_help_names_every_command_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "snapshot" in out and "inspect" in out
    assert "envcapsule snapshot analysis.ipynb" in out


def test_missing_notebook_is_one_sentence_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["snapshot", str(tmp_path / "nope.ipynb"), "--python", sys.executable])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == f"error: The notebook {tmp_path / 'nope.ipynb'} does not exist; check the path."
    assert list(tmp_path.iterdir()) == []


def test_json_errors_are_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    code = main(["snapshot", str(broken), "--json"])
    assert code == 1
    assert "not valid notebook JSON" in json.loads(capsys.readouterr().out)["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb"]


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["snapshot", "x.ipynb", "--frobnicate"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --frobnicate" in capsys.readouterr().err


def test_inspect_json_reports_this_interpreter() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "envcapsule", "inspect", "--python", sys.executable, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    facts = json.loads(completed.stdout)
    assert facts["interpreter"]["executable"] == sys.executable
    assert "envcapsule" in {d["name"] for d in facts["distributions"]}


def test_doctor_fails_on_a_folder_that_is_not_a_capsule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", str(tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False
    capsule = next(c for c in report["checks"] if c["name"] == "capsule")
    assert capsule["ok"] is False and "snapshot" in capsule["detail"] + capsule["advice"]
