"""The %envcapsule magic in an InteractiveShell: light to load, usage errors never kill the kernel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import get_ipython

from envcapsule.magic import build_parser
from envcapsule.magic.views import MagicResult


@pytest.fixture(scope="module")
def shell():  # type: ignore[no-untyped-def]
    ip = get_ipython()
    ip.run_line_magic("load_ext", "envcapsule")
    return ip


def test_loading_the_extension_imports_nothing_heavy() -> None:
    code = (
        "import sys; from IPython.testing.globalipapp import get_ipython; ip = get_ipython();"
        "ip.run_line_magic('load_ext', 'envcapsule');"
        "heavy = [m for m in ('docker', 'rich', 'httpx', 'conda_lock', 'envcapsule.server', 'envcapsule.image', 'tomli_w') if m in sys.modules];"
        "print(heavy)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip().splitlines()[-1] == "[]"


def test_unknown_subcommand_is_a_usage_error(shell) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="invalid choice: 'frobnicate'"):
        shell.run_line_magic("envcapsule", "frobnicate")


def test_unknown_option_is_a_usage_error(shell) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="unrecognized arguments: --colour"):
        shell.run_line_magic("envcapsule", "snapshot --colour red")


def test_help_teaches_and_returns(shell, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    assert shell.run_line_magic("envcapsule", "--help") is None
    out = capsys.readouterr().out
    for word in ("snapshot", "status", "diff", "build", "launch", "verify", "share", "--notebook"):
        assert word in out


def test_a_missing_notebook_is_a_usage_error_with_a_sentence(shell, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=r"does not exist; check the path"):
        shell.run_line_magic("envcapsule", f"snapshot --notebook {tmp_path / 'nope.ipynb'} --progress none")


def test_status_without_a_capsule(shell, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    result = shell.run_line_magic("envcapsule", f"status --notebook {notebook} --progress none")
    assert repr(result) == "envcapsule status: no capsule yet\n  run %envcapsule snapshot"


def test_results_render_as_html_and_stable_text() -> None:
    result = MagicResult("diff", "1 change(s) since the snapshot", ["numpy 2.1.0 → 2.2.0"], ok=False)
    assert repr(result) == "envcapsule diff: 1 change(s) since the snapshot\n  numpy 2.1.0 → 2.2.0"
    assert "<li>numpy 2.1.0 → 2.2.0</li>" in result._repr_html_()


def test_every_subcommand_accepts_notebook_and_progress() -> None:
    parser = build_parser()
    for command in ("snapshot", "build", "launch", "verify", "share", "diff", "status"):
        args = parser.parse_args([command, "--notebook", "x.ipynb", "--progress", "text"])
        assert (args.command, args.notebook, args.progress) == (command, "x.ipynb", "text")
