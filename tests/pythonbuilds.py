"""Stand-ins for a base image without Python and for a python-build-standalone build, made offline.

The base is the offline bookworm image with its interpreter and standard library removed
and a user ``ubuntu`` holding uid 1000, as ubuntu:24.04 and the nvidia/cuda images built
on it have. The build is Debian's own CPython 3.11.2 laid out the way python-build-standalone
lays out its install_only archives (``python/bin``, ``python/lib/python3.11``), offered to uv
through a downloads table with its sha256 (``UV_PYTHON_DOWNLOADS_JSON_URL``): the setting a
site without GitHub access uses for its own builds.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

from tests.conftest import DEBIAN_PYTHON

STDLIB = Path("/usr/lib/python3.11")
NO_PYTHON_IMAGE = "envcapsule-test/no-python:bookworm"
KEY = "cpython-3.11.2-linux-x86_64-gnu"


def make_no_python_image(client: Any, base: str) -> str:
    dockerfile = (
        f"FROM {base}\n"
        "RUN rm -rf /usr/bin/python3* /usr/lib/python3.11 /usr/lib/python3 /usr/local/lib/python3.11 \\\n"
        " && useradd --create-home --uid 1000 --shell /bin/bash ubuntu\n"
    )
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=NO_PYTHON_IMAGE, rm=True, forcerm=True)
    return NO_PYTHON_IMAGE


def standalone_archive(folder: Path) -> Path:
    """Debian's CPython as a relocatable install_only archive (absolute symlinks left out, as uv refuses them)."""
    archive = folder / "cpython-3.11.2-test-x86_64-unknown-linux-gnu-install_only.tar.gz"

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if info.issym() and info.linkname.startswith("/"):
            return None
        if "/__pycache__" in info.name or info.name.startswith("python/lib/python3.11/test/"):
            return None
        return info

    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(Path(os.path.realpath(DEBIAN_PYTHON)), "python/bin/python3.11")
        link = tarfile.TarInfo("python/bin/python3")
        link.type, link.linkname = tarfile.SYMTYPE, "python3.11"
        tar.addfile(link)
        tar.add(STDLIB, "python/lib/python3.11", filter=keep)
    return archive


def downloads_table(folder: Path, archive: Path, sha256: str | None = None) -> Path:
    entry = {
        "name": "cpython",
        "arch": {"family": "x86_64", "variant": None},
        "os": "linux",
        "libc": "gnu",
        "major": 3,
        "minor": 11,
        "patch": 2,
        "prerelease": "",
        "url": archive.as_uri(),
        "sha256": sha256 or hashlib.sha256(archive.read_bytes()).hexdigest(),
        "variant": None,
        "build": "test",
    }
    table = folder / f"downloads-{(sha256 or 'good')[:8]}.json"
    table.write_text(json.dumps({KEY: entry}))
    return table
