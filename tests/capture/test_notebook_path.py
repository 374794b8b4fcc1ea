"""Which notebook the kernel runs: --notebook, then VS Code's variable, then JPY_SESSION_NAME."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcapsule.capture.notebook_path import find_notebook
from envcapsule.errors import NotebookError


def test_explicit_path_wins(tmp_path: Path) -> None:
    found = find_notebook(str(tmp_path / "a.ipynb"), {"__vsc_ipynb_file__": "/x/b.ipynb"}, {"JPY_SESSION_NAME": "/y/c.ipynb"})
    assert found == tmp_path / "a.ipynb"


def test_vscode_variable_comes_next() -> None:
    assert find_notebook(None, {"__vsc_ipynb_file__": "/x/b.ipynb"}, {"JPY_SESSION_NAME": "/y/c.ipynb"}) == Path("/x/b.ipynb")


def test_jupyter_session_name_then() -> None:
    assert find_notebook(None, {}, {"JPY_SESSION_NAME": "/y/c.ipynb"}) == Path("/y/c.ipynb")


def test_nothing_to_go_on_asks_for_notebook() -> None:
    # Not in a kernel: no connection file, so no server session can be matched.
    with pytest.raises(NotebookError, match=r"cannot tell which notebook this kernel runs; pass --notebook PATH"):
        find_notebook(None, {}, {})
