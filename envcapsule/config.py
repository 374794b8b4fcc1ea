"""Defaults set once for every front end: the environment first, then the user's config file.

``~/.config/envcapsule/config.toml`` (or ``$ENVCAPSULE_CONFIG``)::

    base_image = "registry.example.org/python:3.11.2-slim-bookworm"

``ENVCAPSULE_BASE_IMAGE`` overrides the file. The CLI, the magic, the sidebar and the REST
API all read the default through :func:`default_base_image`, so a site with its own mirror,
or an air-gapped host with a locally made base, sets it in one place.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from envcapsule.errors import ConfigError
from envcapsule.paths import config_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KNOWN_KEYS = frozenset({"base_image"})


@dataclass(frozen=True)
class Settings:
    base_image: str | None = None
    source: str | None = None  # where base_image came from: the variable's name or the file's path


def settings() -> Settings:
    """The defaults in force now; a config file that cannot be read is an error, not ignored."""
    from_env = os.environ.get("ENVCAPSULE_BASE_IMAGE", "").strip()
    if from_env:
        return Settings(base_image=from_env, source="ENVCAPSULE_BASE_IMAGE")
    path = config_file()
    values = _read(path)
    base = values.get("base_image")
    if base is not None and (not isinstance(base, str) or not base.strip()):
        raise ConfigError(f"base_image in {path} must be a non-empty string", "fix or remove that line")
    return Settings(base_image=base.strip() if isinstance(base, str) else None, source=str(path) if base else None)


def default_base_image(explicit: str | None = None) -> str | None:
    """``explicit`` when given, else the configured default, else None (envcapsule picks one from the capsule)."""
    if explicit:
        return explicit
    return settings().base_image


def _read(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"envcapsule's config file {path} cannot be read ({error})", "fix its permissions or remove it"
        ) from None
    try:
        values: dict[str, object] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"envcapsule's config file {path} is not valid TOML ({error})", "fix the line it names") from None
    unknown = sorted(set(values) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"envcapsule's config file {path} has unknown setting(s) {', '.join(unknown)}",
            f"the settings are: {', '.join(sorted(KNOWN_KEYS))}",
        )
    return values
