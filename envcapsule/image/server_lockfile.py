"""server.pylock.toml: the capsule's lock of its image's server environment (JupyterLab, Notebook, jupyterhub-singleuser, nbval).

The first build writes it from the host's resolution (``envcapsule.image.server_env``), with
each wheel's URL on the index it came from; every later build, on any host, installs exactly
those files (fetched by URL into the host cache when missing) instead of resolving its own.
``envcapsule build --update-server`` resolves it again on purpose. Like build.json it lies
outside the capsule hash: the server environment is the image's, not the notebook's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import tomli_w
from packaging.markers import Marker
from packaging.pylock import Package, PackageWheel, Pylock, PylockValidationError
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envcapsule import grammar
from envcapsule.atomic import atomic_writer
from envcapsule.capsule import Capsule
from envcapsule.errors import CapsuleError, EnvcapsuleError, IndexLookupError
from envcapsule.image.files import LockedFile
from envcapsule.image.server_env import SERVER_PROFILES, ServerLock, server_lock, server_lock_of
from envcapsule.image.wheelcache import WheelCache
from envcapsule.lock.redact import redact_url
from envcapsule.progress import NullProgress, Progress

SERVER_LOCK_FILE = "server.pylock.toml"
SERVER_LOCK_FILES = {"full": SERVER_LOCK_FILE, "minimal": "server-minimal.pylock.toml"}  # one per server profile
_HEADER = "# The image's server environment, apart from the kernel: written by the first `envcapsule build`,\n# refreshed only by `envcapsule build --update-server`. Outside the capsule hash.\n"


@dataclass(frozen=True)
class ServerEnvironment:
    """The server lock a build installs, and whether the build writes it into the capsule (new or refreshed)."""

    lock: ServerLock
    write: bool
    note: str = ""  # why the capsule's lock was not used, when it was there


def capsule_server_lock(
    capsule: Capsule,
    cache: WheelCache,
    lock_dir: Path,
    progress: Progress | None = None,
    *,
    update: bool = False,
    machine: str | None = None,
    profile: str = "full",
) -> ServerEnvironment:
    """The capsule's server lock file of ``profile`` when it fits its Python and architecture, else the host's (then written).

    A build for another CPU than the capture's (``machine``) resolves that CPU's server
    environment and leaves the capsule's file as it is.
    """
    progress = progress or NullProgress()
    captured = str(capsule.manifest["platform"]["machine"])
    python = str(capsule.manifest["interpreter"]["version"])
    if machine is not None and machine != captured:
        return ServerEnvironment(
            server_lock(python, machine, cache, lock_dir, progress, refresh=update, profile=profile), write=False
        )
    machine = captured
    minor = ".".join(python.split(".")[:2])
    note = ""
    name = SERVER_LOCK_FILES[profile]
    path = capsule.folder / name
    if path.is_file() and not update:
        locked, for_python, for_machine = read_server_lockfile(path)
        if (for_python, for_machine) == (minor, machine):
            _ensure(capsule, locked, cache, progress)
            return ServerEnvironment(server_lock_of(locked), write=False)
        note = f"{name} was for Python {for_python} on {for_machine}, so the server environment was locked again."
    host = with_urls(server_lock(python, machine, cache, lock_dir, progress, refresh=update, profile=profile), progress)
    unlisted = [f.filename for f in host.files if not f.url]
    if unlisted:
        note = (
            f"{name} was not written, since no index this host's pip uses lists {unlisted[0]}; "
            "builds on other hosts resolve their own server environment."
        )
        return ServerEnvironment(host, write=False, note=note)
    return ServerEnvironment(host, write=True, note=note)


def read_server_lockfile(path: Path) -> tuple[list[LockedFile], str, str]:
    """The locked wheels of a server.pylock.toml, and the Python minor and machine it is for; one sentence when damaged."""
    from envcapsule import _toml as tomllib

    try:
        lock = Pylock.from_dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, PylockValidationError) as error:
        raise CapsuleError(
            f"{SERVER_LOCK_FILE} is not a valid PEP 751 lock ({error})",
            "run `envcapsule build --update-server` to lock the server environment again",
        ) from None
    tool = (lock.tool or {}).get("envcapsule") or {}
    files = []
    for package in lock.packages:
        if len(package.wheels or ()) != 1:
            raise CapsuleError(
                f"{SERVER_LOCK_FILE} locks {package.name} to {len(package.wheels or ())} wheels instead of one; "
                "run `envcapsule build --update-server` to lock the server environment again."
            )
        wheel = package.wheels[0]  # type: ignore[index]
        sha = (wheel.hashes or {}).get("sha256", "")
        files.append(LockedFile(str(package.name), str(package.version), str(wheel.filename), sha, wheel.size, url=wheel.url))
    for_python, for_machine = str(tool.get("python", "")), str(tool.get("machine", ""))
    for key, value in (("python", for_python), ("machine", for_machine)):
        if value:
            grammar.word(f"{SERVER_LOCK_FILE} tool.envcapsule.{key}", value)
    return files, for_python or "unknown", for_machine or "unknown"


def render_server_lockfile(lock: ServerLock, python: str, machine: str, profile: str = "full") -> str:
    """The PEP 751 text of ``lock``, validated with ``packaging.pylock``."""
    minor = ".".join(python.split(".")[:2])
    packages = [
        Package(
            name=canonicalize_name(f.name),
            version=Version(f.version),
            index=_index_of(f.url),
            wheels=[PackageWheel(name=f.filename, url=f.url, size=f.size, hashes={"sha256": f.sha256})],
        )
        for f in lock.files
    ]
    pylock = Pylock(
        lock_version=Version("1.0"),
        environments=[
            Marker(f"sys_platform == 'linux' and platform_machine == '{machine}' and implementation_name == 'cpython'")
        ],
        requires_python=SpecifierSet(f"=={minor}.*"),
        created_by="envcapsule",
        packages=packages,
        tool={"envcapsule": {"python": minor, "machine": machine, "requested": list(SERVER_PROFILES[profile])}},
    )
    try:
        pylock.validate()
    except PylockValidationError as error:  # a bug in envcapsule, never the user's input
        raise CapsuleError(f"envcapsule produced an invalid {SERVER_LOCK_FILE} ({error}); please report this.") from None
    return _HEADER + tomli_w.dumps(dict(pylock.to_dict()))


def write_server_lockfile(folder: Path, lock: ServerLock, python: str, machine: str, profile: str = "full") -> None:
    text = render_server_lockfile(lock, python, machine, profile)
    path = folder / SERVER_LOCK_FILES[profile]
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    with atomic_writer(path, "w", encoding="utf-8") as stream:
        stream.write(text)


def with_urls(lock: ServerLock, progress: Progress | None = None) -> ServerLock:
    """``lock`` with each wheel's URL, looked up (redacted) on the indexes this host's pip uses, so other hosts can fetch it."""
    missing = [f for f in lock.files if not f.url]
    if not missing:
        return lock
    (progress or NullProgress()).step("Looking up where the server environment's wheels come from")
    try:
        with _host_index() as index:
            found = index.many_project_files([f.name for f in missing])
    except IndexLookupError:
        return lock  # offline: the capsule keeps no server lock, and says so
    urls = {}
    for file in missing:
        match = next(
            (i for i in found.get(file.name, []) if i.filename == file.filename and i.sha256 in (None, file.sha256)), None
        )
        if match is not None:
            urls[file.filename] = redact_url(match.url)
    return server_lock_of([replace(f, url=urls.get(f.filename, f.url)) for f in lock.files])


def _ensure(capsule: Capsule, files: Sequence[LockedFile], cache: WheelCache, progress: Progress) -> None:
    """Every locked server wheel in the host cache, fetched by its recorded URL when missing."""
    missing = [f for f in files if not cache.has(f)]
    if not missing:
        return
    without_url = [f.filename for f in missing if not f.url]
    if without_url:
        raise EnvcapsuleError(
            f"{SERVER_LOCK_FILE} names {without_url[0]} without a URL, and it is not in this host's cache",
            "copy the wheel into the cache, or run `envcapsule build --update-server` to lock the server environment again",
        )
    with _host_index() as index:
        cache.ensure(capsule, missing, index, progress)


def _host_index() -> Any:
    """An index client configured like this host's pip (credentials included, never written)."""
    from envcapsule.lock.index import IndexClient
    from envcapsule.probe import read_pip_config

    config = read_pip_config(redact=False)
    indexes = [] if config["no_index"] else [config["index_url"], *config["extra_index_urls"]]
    return IndexClient(indexes, config["find_links"], cert=config["cert"], trusted_hosts=config["trusted_hosts"])


def _index_of(url: str | None) -> str | None:
    if url and url.startswith("https://files.pythonhosted.org/"):
        return "https://pypi.org/simple"
    return None
