"""Where envcapsule keeps things: the capsule folder beside a notebook, and the host cache."""

from __future__ import annotations

import os
from pathlib import Path

CAPSULE_SUFFIX = ".capsule"


def default_capsule_dir(notebook: Path) -> Path:
    """``analysis.ipynb`` → ``analysis.capsule`` in the same folder."""
    return notebook.with_name(f"{notebook.stem}{CAPSULE_SUFFIX}")


def cache_root() -> Path:
    """``$ENVCAPSULE_CACHE_DIR``, else ``$XDG_CACHE_HOME/envcapsule``, else ``~/.cache/envcapsule``."""
    base = os.environ.get("ENVCAPSULE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "envcapsule"
    )
    return Path(base)


def config_file() -> Path:
    """``$ENVCAPSULE_CONFIG``, else ``$XDG_CONFIG_HOME/envcapsule/config.toml``, else ``~/.config/envcapsule/config.toml``."""
    explicit = os.environ.get("ENVCAPSULE_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "envcapsule" / "config.toml"
