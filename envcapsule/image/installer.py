"""The installer that every builder stage runs: uv where its binary runs on the base image, pip otherwise.

The host's uv binary and a small shell script go into the build context as ``installer/``
and into the server stage (a builder stage, never the final image). The script installs one
folder of locked wheels into one environment, hash-checked, with no index and no dependency
resolution, and compiles bytecode so the first import in the container is as fast as on the
host. Where uv cannot run (a musl base, another architecture, no uv on the host) it says so
in the build output and installs with pip.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

from envcapsule.contract import SERVER_PYTHON
from envcapsule.image.wheelcache import link_or_copy

INSTALLER_DIR = "/tmp/envcapsule/installer"
PIP_FALLBACK_NOTICE = "envcapsule: installing with pip, since uv cannot run on this base image"
_MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}

INSTALL_SCRIPT = f"""#!/bin/sh
# install PYTHON FOLDER: the wheels FOLDER/requirements.txt names, from FOLDER only, into PYTHON's environment.
set -eu
python=$1
folder=$2
uv=$(dirname "$0")/uv
if [ -x "$uv" ] && "$uv" --version >/dev/null 2>&1; then
    exec "$uv" pip install --python "$python" --no-config --no-cache --offline --no-index --no-deps --no-build \\
        --require-hashes --link-mode=copy --compile-bytecode --find-links "$folder" -r "$folder/requirements.txt"
fi
echo "{PIP_FALLBACK_NOTICE}"
if [ -x {SERVER_PYTHON} ] && [ "$python" != {SERVER_PYTHON} ]; then
    set -- {SERVER_PYTHON} -m pip --python "$python"
else
    set -- "$python" -m pip
fi
exec "$@" install --no-index --no-deps --require-hashes --disable-pip-version-check \\
    --find-links "$folder" -r "$folder/requirements.txt"
"""


@dataclass(frozen=True)
class Installer:
    """What goes into ``installer/``: the script, and uv when the host has a binary for the image's architecture."""

    uv: Path | None
    reason: str = ""  # why there is no uv, when there is none

    @property
    def name(self) -> str:
        return "uv" if self.uv is not None else "pip"


def install_command(python: str, folder: str) -> str:
    """The shell command a ``RUN`` gives to install ``folder`` (a path in the build) into ``python``'s environment."""
    return f"sh {INSTALLER_DIR}/install {python} {folder}"


def host_installer(machine: str) -> Installer:
    """uv from the host (the ``uv`` package, else PATH) when it is built for ``machine``, the image's architecture."""
    wanted = _MACHINES.get(machine, machine)
    here = _MACHINES.get(platform.machine().lower(), platform.machine().lower())
    if wanted != here:
        return Installer(None, f"this host's uv is built for {here}, not {wanted}")
    from envcapsule.errors import PythonDistError
    from envcapsule.image.python_dist import find_uv

    try:
        return Installer(Path(find_uv()))
    except PythonDistError:
        return Installer(None, "uv is not installed on this host")


def write_installer(folder: Path, installer: Installer) -> None:
    """``installer/`` in a build context, with fixed modes, so its layer's cache key is its content alone."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    script = folder / "install"
    script.write_text(INSTALL_SCRIPT, encoding="utf-8")
    script.chmod(0o644)
    if installer.uv is not None:
        link_or_copy(os.path.realpath(installer.uv), folder / "uv")
