"""probe.py as a script: run by other interpreters, stdlib only, one JSON object out."""

from __future__ import annotations

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import envcapsule.probe
from tests.conftest import require

PROBE = Path(envcapsule.probe.__file__)
OLD_PYTHON_PATTERNS = (
    "/root/.pyenv/versions/3.8*/bin/python3.8",
    "/root/.pyenv/versions/3.9*/bin/python3.9",
    os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8"),
    os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9"),
    os.path.expanduser("~/.local/share/uv/python/cpython-3.8*/bin/python3.8"),
)


def run_probe(python: str, env: dict[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    result = subprocess.run([python, "-I", str(PROBE)], capture_output=True, text=True, env=env, timeout=60, check=True)
    return result.stdout, json.loads(result.stdout)


def oldest_python() -> str | None:
    found = [path for pattern in OLD_PYTHON_PATTERNS for path in sorted(glob.glob(pattern))]
    found += [path for path in (shutil.which("python3.8"), shutil.which("python3.9")) if path]
    return found[0] if found else None


def test_source_parses_as_python_3_8() -> None:
    source = PROBE.read_text()

    ast.parse(source, feature_version=(3, 8))
    for newer in (".removeprefix(", ".removesuffix(", "functools.cache(", "zoneinfo", "tomllib"):
        assert newer not in source, newer


def test_runs_under_the_oldest_python_on_this_machine() -> None:
    python = oldest_python()
    require(python is not None, "no Python 3.8 or 3.9 interpreter here to run the probe under")
    assert python is not None

    _, facts = run_probe(python)

    assert facts["interpreter"]["version_info"][:2] in ([3, 8], [3, 9])
    assert facts["probe_version"] == 1 and facts["problems"] == []


def test_in_a_fresh_venv_it_reports_the_venv(tmp_path: Path) -> None:
    base_python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(tmp_path / "env")], check=True, timeout=120)
    python = str(tmp_path / "env" / "bin" / "python")

    printed, facts = run_probe(python)

    interpreter = facts["interpreter"]
    assert interpreter["executable"] == python
    assert (interpreter["environment_kind"], interpreter["prefix"]) == ("venv", str(tmp_path / "env"))
    assert interpreter["base_prefix"] != interpreter["prefix"]
    assert printed == json.dumps(facts, sort_keys=True) + "\n"
    assert str(PROBE.parent) not in facts["sys_path"]


def test_printed_output_holds_no_secrets() -> None:
    env = dict(
        os.environ,
        PIP_INDEX_URL="https://alice:hunter2@private.example/simple",
        PIP_EXTRA_INDEX_URL="https://hunter2@tokens.example/simple",
        LC_SECRET_TOKEN="hunter2",
        GITHUB_TOKEN="hunter2",
        LANG="C.UTF-8",
    )

    printed, facts = run_probe(sys.executable, env)

    assert "hunter2" not in printed
    assert facts["environment"]["LANG"] == "C.UTF-8"
    assert facts["pip_config"]["index_url"] == "https://private.example/simple"


def test_collect_imports_only_the_standard_library() -> None:
    script = (
        "import json, runpy, sys\n"
        "before = set(sys.modules)\n"
        "runpy.run_path(sys.argv[1], run_name='probe_check')['collect']()\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, str(PROBE)], capture_output=True, text=True, check=True, timeout=60
    )

    imported = {name.split(".")[0] for name in json.loads(result.stdout)}
    outside = {name for name in imported if name not in sys.stdlib_module_names and not name.startswith("_sysconfigdata")}
    assert outside == set()
    assert "configparser" in imported  # the check sees what the probe really imports
