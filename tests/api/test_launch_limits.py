"""launch's --memory and --cpus: one rule for the CLI's parser, the Python API and the REST API, checked before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcapsule import api
from envcapsule.commands import cpus_limit, memory_limit
from envcapsule.errors import UsageError
from tests.cli.shell import envcapsule


def test_sizes_and_cpus_as_the_engine_takes_them() -> None:
    assert [memory_limit(text) for text in ("4g", " 512M ", "1073741824")] == ["4g", "512m", "1073741824"]
    assert [cpus_limit(value) for value in ("2", 0.5, 1)] == [2.0, 0.5, 1.0]
    for wrong in ("4x", "0", "-1g", "4 g"):
        with pytest.raises(ValueError, match="is not a memory size such as 4g, 512m or 1073741824"):
            memory_limit(wrong)
    for wrong_cpus in ("0", "-1", "two", True, 5000):
        with pytest.raises(ValueError, match="is not a number of CPUs such as 2 or 0.5"):
            cpus_limit(wrong_cpus)


def test_the_python_api_refuses_a_wrong_limit_before_looking_for_the_notebook(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        api.launch(tmp_path / "missing.ipynb", memory="4x")
    assert caught.value.message("cli") == (
        "'4x' is not a memory size such as 4g, 512m or 1073741824; give the memory as `--memory SIZE` and the CPUs as `--cpus N`."
    )


def test_the_cli_refuses_a_wrong_limit_as_it_parses(tmp_path: Path) -> None:
    refused = envcapsule("launch", tmp_path / "missing.ipynb", "--cpus", "0")
    assert refused.code == 2
    assert "argument --cpus: '0' is not a number of CPUs such as 2 or 0.5" in refused.stderr
