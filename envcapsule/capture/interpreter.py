"""Run the stdlib-only probe under another interpreter and read back its facts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from envcapsule.errors import InterpreterError
from envcapsule.facts import EnvironmentFacts

PROBE_SCRIPT = Path(__file__).resolve().parent.parent / "probe.py"


def probe_interpreter(python: Path, timeout: float = 120.0) -> EnvironmentFacts:
    """Run ``python -I probe.py`` and parse its JSON into EnvironmentFacts."""
    try:
        completed = subprocess.run(
            [str(python), "-I", str(PROBE_SCRIPT)],
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except OSError as error:
        raise InterpreterError(
            f"The interpreter {python} does not run ({error.strerror}); pass --python with a working one."
        ) from None
    except subprocess.TimeoutExpired:
        raise InterpreterError(
            f"The interpreter {python} did not finish the probe within {timeout:.0f} s; check that it starts."
        ) from None
    if completed.returncode != 0:
        raise InterpreterError(_explain_failure(python, completed.stderr.decode(errors="replace")))
    try:
        return EnvironmentFacts.from_probe(json.loads(completed.stdout))
    except (ValueError, KeyError, TypeError) as error:
        raise InterpreterError(
            f"The probe under {python} printed something that is not its report ({error}); is it a Python >= 3.8?"
        ) from None


def _explain_failure(python: Path, stderr: str) -> str:
    version = _python_version(python)
    if version is not None and version < (3, 8):
        shown = ".".join(map(str, version))
        return f"{python} is Python {shown}; envcapsule captures Python 3.8 or newer, so pass --python with a newer interpreter."
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "no error output"
    return f"The probe failed under {python} ({last}); check that this interpreter works."


def _python_version(python: Path) -> tuple[int, ...] | None:
    # Python 2 prints its version on stderr, Python 3 on stdout.
    try:
        completed = subprocess.run([str(python), "-V"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = (completed.stdout or completed.stderr).decode(errors="replace").split()
    if len(words) >= 2 and words[0] == "Python":
        try:
            return tuple(int(part) for part in words[1].split(".")[:2])
        except ValueError:
            return None
    return None
