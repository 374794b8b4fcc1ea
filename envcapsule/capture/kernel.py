"""Which interpreter runs a notebook's kernel: ``--python`` wins, else the kernelspec's ``argv[0]``."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from envcapsule.errors import InterpreterError, NotebookError

_PYTHON_NAME = re.compile(r"^python(\d+(\.\d+)*)?(\.exe)?$")


def read_notebook(path: Path) -> dict[str, Any]:
    """Read a notebook's JSON, failing with one sentence when it is not a readable notebook."""
    if not path.exists():
        raise NotebookError(f"The notebook {path} does not exist; check the path.")
    if path.is_dir():
        raise NotebookError(f"{path} is a folder, not a notebook; pass the path of an .ipynb file.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise NotebookError(f"The notebook {path} cannot be read ({error}); check its permissions and encoding.") from None
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookError(
            f"{path} is not valid notebook JSON (line {error.lineno}: {error.msg}); open it in Jupyter to repair it."
        ) from None
    if not isinstance(notebook, dict) or "cells" not in notebook or "nbformat" not in notebook:
        raise NotebookError(f"{path} is JSON but not a Jupyter notebook (no 'cells' or 'nbformat'); pass an .ipynb file.")
    return notebook


def kernel_name(notebook: dict[str, Any]) -> str | None:
    spec = notebook.get("metadata", {}).get("kernelspec") or {}
    name = spec.get("name")
    return name if isinstance(name, str) and name else None


def find_kernel_python(notebook_path: Path | None, python: str | os.PathLike[str] | None = None) -> Path:
    """The interpreter to probe for ``notebook_path``."""
    if python is not None:
        return _existing_interpreter(Path(python), "--python")
    if notebook_path is None:
        raise InterpreterError("No notebook and no interpreter were given; pass a notebook or --python PATH.")
    name = kernel_name(read_notebook(notebook_path))
    if name is None:
        raise InterpreterError(
            f"The notebook {notebook_path.name} names no kernel (metadata.kernelspec is missing); "
            "pass --python with the path of the interpreter that runs it."
        )
    return _interpreter_from_kernelspec(name)


def _interpreter_from_kernelspec(name: str) -> Path:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(name)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise InterpreterError(
            f"The notebook's kernel '{name}' is not installed here (installed kernels: {known}); "
            "install it, or pass --python with the interpreter that runs the notebook."
        ) from None
    argv = list(spec.argv)
    if argv and argv[0] in _same_python_names():
        # jupyter_client's own rule: a bare `python` in a kernelspec means the interpreter running Jupyter.
        return _existing_interpreter(Path(sys.executable), f"kernelspec '{name}'")
    for arg in argv:
        if _PYTHON_NAME.match(Path(arg).name):
            found = arg if os.path.isabs(arg) else shutil.which(arg)
            if found:
                return _existing_interpreter(Path(found), f"kernelspec '{name}'")
    raise InterpreterError(
        f"The kernelspec '{name}' does not start a Python interpreter envcapsule can find "
        f"(argv: {' '.join(spec.argv[:3])} …); pass --python with the interpreter that runs the notebook."
    )


def _same_python_names() -> set[str]:
    major, minor = sys.version_info[:2]
    return {"python", f"python{major}", f"python{major}.{minor}"}


def _existing_interpreter(path: Path, origin: str) -> Path:
    if not path.exists():
        raise InterpreterError(f"The interpreter {path} (from {origin}) does not exist; pass --python with a valid path.")
    if path.is_dir() or not os.access(path, os.X_OK):
        raise InterpreterError(f"{path} (from {origin}) is not an executable interpreter; pass --python with one.")
    # Keep venv symlinks as they are: resolving them would leave the environment.
    return path.absolute()
