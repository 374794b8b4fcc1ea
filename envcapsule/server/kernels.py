"""Which interpreter runs a notebook's kernel, asked of the server's own session and kernelspec managers.

The kernel name comes from the notebook's running session when Lab has one open, else from
its ``metadata.kernelspec``; the server's kernelspec manager turns the name into ``argv[0]``.
A spec whose ``argv[0]`` is plain ``python``/``python3``/``python3.X`` is started by
jupyter_client with the server's own interpreter (``KernelManager.format_kernel_cmd``), so
that is the interpreter to probe, not whatever ``python`` is first on PATH. When nothing
resolves, the answer is None and the core falls back to ``find_kernel_python``, whose
sentence says what is missing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async

from envcapsule.capture.kernel import kernel_name, read_notebook
from envcapsule.errors import EnvcapsuleError

_SERVER_PYTHON = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}


async def kernel_interpreter(session_manager: Any, kernel_spec_manager: Any, relative: str, notebook: Path) -> str | None:
    """The interpreter of the notebook's kernel: its running session's, else its metadata's kernelspec's."""
    sessions = await ensure_async(session_manager.list_sessions())
    names = [s["kernel"]["name"] for s in sessions if s.get("path") == relative and (s.get("kernel") or {}).get("name")]
    if not names:
        named = await asyncio.get_running_loop().run_in_executor(None, _metadata_kernel, notebook)
        names = [named] if named else []
    for name in names:
        try:
            spec = await ensure_async(kernel_spec_manager.get_kernel_spec(name))
        except Exception:  # noqa: BLE001 - NoSuchKernel, or a gateway error: the core explains a missing kernel
            continue
        argv = list(getattr(spec, "argv", None) or [])
        found = _interpreter(argv[0]) if argv else None
        if found:
            return found
    return None


def _metadata_kernel(notebook: Path) -> str | None:
    try:
        return kernel_name(read_notebook(notebook))
    except EnvcapsuleError:  # unreadable: the core call says so in its own words
        return None


def _interpreter(program: str) -> str | None:
    if program in _SERVER_PYTHON:
        return sys.executable
    return program if os.path.isabs(program) else shutil.which(program)
