"""Build wheels for direct installs (local folders, editables, VCS) so the capsule stands alone."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

# Zip timestamps from this date make the same source give the same wheel, hence the same capsule hash.
_REPRODUCIBLE_EPOCH = "315532800"


def wheel_builder(python: Path) -> Callable[[str, Path], Path]:
    """A WheelBuilder that runs pip under the kernel's interpreter (so tags match), else under ours."""
    interpreters: list[Path] = []  # found on the first build, reused for the others

    def build(spec: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        if not interpreters:
            interpreters.extend(_interpreters_with_pip(python))
        with tempfile.TemporaryDirectory(prefix="envcapsule-wheel-") as scratch:
            errors = []
            for interpreter in interpreters:
                result = subprocess.run(
                    [str(interpreter), "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", scratch, spec],
                    capture_output=True,
                    text=True,
                    env={**os.environ, "SOURCE_DATE_EPOCH": _REPRODUCIBLE_EPOCH, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
                    check=False,
                    stdin=subprocess.DEVNULL,
                )
                built = sorted(Path(scratch).glob("*.whl"))
                if result.returncode == 0 and built:
                    target = dest / built[0].name
                    os.replace(built[0], target)
                    return target
                errors.append((result.stderr.strip().splitlines() or ["pip wheel failed"])[-1])
            raise RuntimeError(errors[-1] if errors else "no interpreter with pip was found")

    return build


def _interpreters_with_pip(python: Path) -> list[Path]:
    candidates = [python, Path(sys.executable)]
    usable = []
    for candidate in candidates:
        probe = subprocess.run([str(candidate), "-c", "import pip"], capture_output=True, check=False)
        if probe.returncode == 0 and candidate not in usable:
            usable.append(candidate)
    return usable
