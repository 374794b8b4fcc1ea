"""The files a live kernel used: the local modules it imported and the files it opened for reading.

``%load_ext envcapsule`` installs an audit hook on ``open`` (PEP 578) that only notes a path in
a set; the snapshot later keeps those under the notebook's folder. Standard library only, and
cheap: every audit event but ``open`` returns at the first comparison.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType

_LIMIT = 100_000  # paths kept at most, so a kernel that opens millions of files does not grow without end
_WRITING = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_opened: set[str] = set()
_installed: list[bool] = []


def install_open_audit() -> None:
    """Note every file this process opens for reading from now on (once per process: audit hooks cannot be removed)."""
    if _installed:
        return
    _installed.append(True)
    skipped = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, "/proc/", "/sys/", "/dev/"})
    getcwd, join, fspath = os.getcwd, os.path.join, os.fspath

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event != "open":
            return
        path, flags = args[0], args[2] if len(args) > 2 else 0
        if isinstance(flags, int) and flags & _WRITING:
            return
        if isinstance(path, os.PathLike):
            path = fspath(path)
        if not isinstance(path, str) or path.startswith(skipped) or len(_opened) >= _LIMIT:
            return
        try:
            _opened.add(path if path.startswith("/") else join(getcwd(), path))
        except OSError:
            pass  # the working folder was removed

    sys.addaudithook(hook)


def opened_files() -> set[str]:
    return set(_opened)


def local_module_files(folder: Path, modules: Mapping[str, ModuleType | None] | None = None) -> list[Path]:
    """Files of imported modules under ``folder`` that no installed distribution provides (``helpers.py`` beside the notebook)."""
    modules = dict(sys.modules if modules is None else modules)
    owned = _distribution_top_levels()
    folder = folder.resolve()
    found = []
    for name, module in modules.items():
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or name.split(".", 1)[0] in owned:
            continue
        resolved = Path(path).resolve()
        if folder in resolved.parents and "site-packages" not in resolved.parts:
            found.append(resolved)
    return found


def _distribution_top_levels() -> set[str]:
    try:
        from importlib.metadata import packages_distributions
    except ImportError:  # Python 3.8 and 3.9
        return set()
    try:
        return set(packages_distributions())
    except Exception:  # a broken dist-info must not stop a snapshot
        return set()


def kernel_files(folder: Path, extra: Iterable[str] = ()) -> list[Path]:
    """What this kernel used under ``folder``: imported local modules and files opened for reading that still exist."""
    folder = folder.resolve()
    used = set(local_module_files(folder))
    for path in [*opened_files(), *extra]:
        resolved = Path(path).resolve()
        if folder in resolved.parents and resolved.is_file():
            used.add(resolved)
    return sorted(used)
