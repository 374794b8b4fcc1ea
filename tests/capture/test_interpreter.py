"""Running the probe under another interpreter: the facts come back, or one clear sentence does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from envcapsule.capture.interpreter import probe_interpreter
from envcapsule.errors import InterpreterError
from tests.conftest import require

PYTHON2 = Path("/root/.pyenv/versions/2.7.18/bin/python")


def test_probe_reports_the_running_interpreter() -> None:
    facts = probe_interpreter(Path(sys.executable))
    assert facts.interpreter.version == ".".join(map(str, sys.version_info[:3]))
    assert facts.distribution("pytest") is not None


def test_a_program_that_is_not_python(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'I am not python' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(InterpreterError, match=r"The probe failed under .*I am not python"):
        probe_interpreter(fake)


def test_a_file_that_cannot_run(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("not a program")
    fake.chmod(0o755)
    with pytest.raises(InterpreterError, match="does not run"):
        probe_interpreter(fake)


def test_python2_is_named_as_too_old() -> None:
    require(PYTHON2.exists(), f"{PYTHON2} is not installed")
    with pytest.raises(InterpreterError, match=r"is Python 2\.7; envcapsule captures Python 3\.8 or newer"):
        probe_interpreter(PYTHON2)
