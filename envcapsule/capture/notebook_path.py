"""Which notebook a kernel is running: --notebook, VS Code's variable, JPY_SESSION_NAME, then the server's sessions."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envcapsule.errors import NotebookError

ASK = "pass --notebook PATH"


def find_notebook(explicit: str | None, user_ns: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit).expanduser().absolute()
    vscode = user_ns.get("__vsc_ipynb_file__")
    if isinstance(vscode, str) and vscode:
        return Path(vscode)
    session = environ.get("JPY_SESSION_NAME")
    if session and session.endswith(".ipynb"):
        path = Path(session)
        return path if path.is_absolute() else Path.cwd() / path
    found = _from_server_sessions()
    if found is not None:
        return found
    raise NotebookError(f"envcapsule cannot tell which notebook this kernel runs; {ASK}.")


def _current_kernel_id() -> str | None:
    try:
        from ipykernel.connect import get_connection_file
    except ImportError:
        return None
    try:
        name = Path(get_connection_file()).name
    except (RuntimeError, AttributeError):
        return None
    return name.removeprefix("kernel-").removesuffix(".json") or None


def _from_server_sessions() -> Path | None:
    kernel_id = _current_kernel_id()
    if kernel_id is None:
        return None
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return None
    for info_file in sorted(Path(jupyter_runtime_dir()).glob("jpserver-*.json"))[:8]:
        try:
            info = json.loads(info_file.read_text())
            request = urllib.request.Request(
                f"{info['url'].rstrip('/')}/api/sessions", headers={"Authorization": f"token {info.get('token', '')}"}
            )
            with urllib.request.urlopen(request, timeout=1.0) as response:  # noqa: S310 - the server's own runtime file
                sessions = json.loads(response.read())
        except (OSError, ValueError, KeyError):
            continue
        for session in sessions:
            if session.get("kernel", {}).get("id") == kernel_id and str(session.get("path", "")).endswith(".ipynb"):
                return Path(info.get("root_dir", ".")) / session["path"]
    return None
