"""A CPython for base images that have none (``nvidia/cuda`` runtime images, plain distribution images).

The interpreter is a relocatable python-build-standalone build, fetched on the host by uv:
uv's download table pins every build's URL and sha256, and uv checks the file before it
unpacks it. The unpacked tree is kept in envcapsule's cache, goes into the build context
as ``python/`` and into the image at ``/opt/envcapsule/python``; both environments are
made from it. uv's own settings apply, so a site without GitHub access points
``UV_PYTHON_INSTALL_MIRROR`` at a mirror, or ``UV_PYTHON_DOWNLOADS_JSON_URL`` at a table of
its own builds.

python-build-standalone does not publish every patch release (3.11.2 is missing, for
one); the newest build of the same minor version then stands in, with a warning, the way
a base image with another patch version does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envcapsule.errors import PythonDistError
from envcapsule.progress import NullProgress, Progress

UV_TIMEOUT = 600.0
# Docker names architectures the Go way; python-build-standalone the way `uname -m` does.
_ARCHES = {"amd64": "x86_64", "arm64": "aarch64", "ppc64le": "powerpc64le", "s390x": "s390x", "386": "i686"}


@dataclass(frozen=True)
class Offer:
    """One CPython build uv can install: its key (``cpython-3.11.9-linux-x86_64-gnu``) and version."""

    key: str
    version: str

    @property
    def parts(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))


@dataclass(frozen=True)
class StandalonePython:
    """A standalone CPython unpacked on the host, ready to copy into a build context."""

    key: str
    version: str
    path: Path
    warnings: list[str] = field(default_factory=list)


def machine_for(docker_arch: str) -> str:
    """``amd64`` -> ``x86_64``: the architecture of a base image in python-build-standalone's words."""
    return _ARCHES.get(docker_arch, docker_arch)


def find_uv() -> str:
    """uv on PATH, else the binary of the ``uv`` Python package, else a sentence saying how to get it."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        raise PythonDistError(
            "The base image has no Python, and envcapsule needs uv to fetch one for it; "
            "install uv (`pip install uv`), or pass --base-image with an image that has Python."
        ) from None


def parse_offers(listing: Iterable[Mapping[str, Any]], machine: str) -> list[Offer]:
    """The final CPython releases for Linux with glibc on ``machine`` in ``uv python list --output-format json``."""
    offers = []
    for entry in listing:
        version = str(entry.get("version", ""))
        if (
            entry.get("implementation") == "cpython"
            and entry.get("os") == "linux"
            and entry.get("libc") == "gnu"
            and entry.get("arch") == machine
            and entry.get("variant", "default") == "default"
            and version.replace(".", "").isdigit()
            and entry.get("key")
        ):
            offers.append(Offer(str(entry["key"]), version))
    return offers


def choose(offers: Iterable[Offer], wanted: str) -> tuple[Offer, list[str]]:
    """The build of exactly ``wanted``, else the newest of its minor version with a warning; else an error."""
    offers = list(offers)
    exact = next((offer for offer in offers if offer.version == wanted), None)
    if exact is not None:
        return exact, []
    minor = tuple(int(part) for part in wanted.split(".")[:2])
    same_minor = sorted((offer for offer in offers if offer.parts[:2] == minor), key=lambda offer: offer.parts)
    if not same_minor:
        raise PythonDistError(
            f"No standalone build of Python {'.'.join(map(str, minor))} is offered for this image's platform; "
            "pass --base-image with an image that has that Python, or point UV_PYTHON_DOWNLOADS_JSON_URL at builds of it."
        )
    chosen = same_minor[-1]
    return chosen, [
        f"No standalone build of Python {wanted} exists; the image uses Python {chosen.version} (same minor version)."
    ]


def fetch_standalone_python(
    version: str,
    docker_arch: str,
    cache_dir: Path,
    progress: Progress | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> StandalonePython:
    """Install (once) the standalone CPython that stands in for ``version`` under ``cache_dir``."""
    machine = machine_for(docker_arch)
    exact = cache_dir / f"cpython-{version}-linux-{machine}-gnu"
    if (exact / "bin" / "python3").exists():  # fetched for an earlier build: no need to ask uv again
        return StandalonePython(exact.name, version, exact)
    progress = progress or NullProgress()
    environ = dict(os.environ if environ is None else environ)
    uv = find_uv()
    listing = _run_uv(
        uv, ["python", "list", "--all-versions", "--all-platforms", "--only-downloads", "--output-format", "json"], environ
    )
    try:
        data = json.loads(listing)
    except ValueError:
        raise PythonDistError(
            "uv listed its Python downloads in a form envcapsule cannot read; update uv and build again."
        ) from None
    offer, warnings = choose(parse_offers(data if isinstance(data, list) else [], machine), version)
    installed = cache_dir / offer.key
    if not (installed / "bin" / "python3").exists():
        progress.step(f"Fetching standalone Python {offer.version} ({offer.key})")
        cache_dir.mkdir(parents=True, exist_ok=True)
        _run_uv(uv, ["python", "install", "--install-dir", str(cache_dir), "--no-bin", offer.key], environ)
        if not (installed / "bin" / "python3").exists():
            raise PythonDistError(
                f"uv reported {offer.key} installed, but {installed / 'bin' / 'python3'} is missing; "
                f"remove {cache_dir} and build again."
            )
    return StandalonePython(offer.key, offer.version, installed, warnings)


def copy_into(python: StandalonePython, destination: Path) -> None:
    """The interpreter's tree into a build context, hard-linked where the file system allows."""
    from envcapsule.image.wheelcache import link_or_copy

    shutil.copytree(python.path, destination, symlinks=True, copy_function=link_or_copy)


def _run_uv(uv: str, arguments: list[str], environ: Mapping[str, str]) -> str:
    try:
        done = subprocess.run(
            [uv, *arguments], capture_output=True, text=True, timeout=UV_TIMEOUT, env={**environ, "NO_COLOR": "1"}, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PythonDistError(f"uv could not run `uv {' '.join(arguments[:2])}` ({error}); check the uv installation.") from None
    if done.returncode != 0:
        reason = _uv_reason(done.stderr) or f"exit status {done.returncode}"
        raise PythonDistError(
            f"uv could not fetch a standalone Python ({reason}); check the network, or set UV_PYTHON_INSTALL_MIRROR "
            "or UV_PYTHON_DOWNLOADS_JSON_URL to reach builds, or pass --base-image with an image that has Python."
        )
    return done.stdout


def _uv_reason(stderr: str) -> str:
    """uv's ``error:`` and ``cause:`` lines, which say what went wrong, without its progress lines."""
    lines = [line.strip() for line in stderr.splitlines()]
    said = [line.split(":", 1)[1].strip() for line in lines if line.startswith(("error:", "cause:"))]
    return "; ".join(said) if said else " ".join(line for line in lines[-3:] if line)
