"""Finding the kernel's interpreter, and the sentences that explain when it cannot be found."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from envcapsule.capture.kernel import find_kernel_python, read_notebook
from envcapsule.errors import InterpreterError, NotebookError


def notebook(tmp_path: Path, kernel: str | None = "python3") -> Path:
    metadata = {"kernelspec": {"name": kernel, "display_name": kernel}} if kernel else {}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}))
    return path


def kernelspec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, argv: list[str]) -> None:
    folder = tmp_path / "jupyter" / "kernels" / name
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": name, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))


def test_python_option_wins_over_the_kernelspec(tmp_path: Path) -> None:
    assert find_kernel_python(notebook(tmp_path, "nonexistent"), sys.executable) == Path(sys.executable).absolute()


def test_kernelspec_argv0_is_the_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kernelspec(tmp_path, monkeypatch, "analysis", [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    assert find_kernel_python(notebook(tmp_path, "analysis")) == Path(sys.executable).absolute()


def test_unknown_kernelspec_names_the_installed_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kernelspec(tmp_path, monkeypatch, "analysis", [sys.executable])
    with pytest.raises(InterpreterError, match=r"kernel 'gone' is not installed here .*analysis.*--python"):
        find_kernel_python(notebook(tmp_path, "gone"))


def test_notebook_without_kernelspec_asks_for_python(tmp_path: Path) -> None:
    with pytest.raises(InterpreterError, match="names no kernel"):
        find_kernel_python(notebook(tmp_path, None))


def test_missing_interpreter_path(tmp_path: Path) -> None:
    with pytest.raises(InterpreterError, match="does not exist"):
        find_kernel_python(None, tmp_path / "bin" / "python")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), ("{not json", "not valid notebook JSON"), ('{"a": 1}', "not a Jupyter notebook")],
)
def test_bad_notebooks_are_one_sentence(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "bad.ipynb"
    if content is not None:
        path.write_text(content)
    with pytest.raises(NotebookError, match=message):
        read_notebook(path)


def test_a_bare_python_in_the_kernelspec_means_the_interpreter_running_jupyter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernelspec(tmp_path, monkeypatch, "native", ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"])
    assert find_kernel_python(notebook(tmp_path, "native")) == Path(sys.executable).absolute()
