"""The ``.deb`` files a build installs: resolved by apt against the base image, fetched and checked on the host.

When the base image runs the same distribution and release as this host, the host's apt
resolves the capsule's packages (at their captured versions) against the base image's own
``dpkg`` status, so exactly the packages the base lacks are fetched: ``apt-get download``
checks each against the signed repository index, envcapsule checks its sha256 again and
keeps it in the content-addressed host cache, and the build installs them with no network.
Otherwise the image installs the packages by name from the base's own repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from envcapsule.atomic import atomic_writer
from envcapsule.capsule import sha256_bytes
from envcapsule.errors import SystemPackagesError
from envcapsule.progress import NullProgress, Progress

_APT_TIMEOUT = 600
_URI_LINE = re.compile(r"^'(?P<url>[^']+)' (?P<filename>\S+\.deb) (?P<size>\d+) (?P<hash>\S+)$")
# Options that point apt at the base image's package state and away from this host's own.
_LOCKLESS = ("-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root")


@dataclass(frozen=True)
class Release:
    distro_id: str | None
    codename: str | None

    def describe(self) -> str:
        return " ".join(p for p in (self.distro_id, self.codename) if p) or "an unknown distribution"


@dataclass(frozen=True)
class DebFile:
    name: str
    version: str
    architecture: str
    filename: str
    sha256: str
    size: int


@dataclass(frozen=True)
class SystemPlan:
    """How a build installs the capsule's system packages."""

    mode: str  # "offline" (checked .deb files from the host cache), "by-name" (the base's repository), or "none"
    release: Release
    debs: tuple[DebFile, ...] = ()
    names: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        """The image label: the capsule's packages, and with exact files also what the layer installed (``name=version``)."""
        if self.mode == "offline":
            installed = {d.name for d in self.debs}
            return " ".join([*(f"{d.name}={d.version}" for d in self.debs), *(n for n in self.names if n not in installed)])
        return " ".join(self.names)


def parse_os_release(text: str) -> Release:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip("'\"")
    return Release(values.get("ID"), values.get("VERSION_CODENAME"))


def host_release(root: str = "/") -> Release:
    for candidate in ("etc/os-release", "usr/lib/os-release"):
        try:
            return parse_os_release(Path(root, candidate).read_text(encoding="utf-8"))
        except OSError:
            continue
    return Release(None, None)


def read_base(client: Any, image: str) -> tuple[Release, str | None]:
    """The base image's release and its ``dpkg`` status file (None when it has no dpkg), read without running its entrypoint."""
    import docker.errors

    script = "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release; echo '@@envcapsule-dpkg@@'; cat /var/lib/dpkg/status"
    container = None
    try:
        container = client.containers.create(image, ["sh", "-c", script], entrypoint=[], network_disabled=True, user="0")
        container.start()
        container.wait(timeout=120)
        output = container.logs(stdout=True, stderr=False).decode("utf-8", errors="replace")
    except docker.errors.APIError as error:
        raise SystemPackagesError(
            f"The base image {image} could not be read for its system packages ({error.explanation or error})",
            "pass {option:base_image} with a Debian or Ubuntu image",
        ) from None
    finally:
        if container is not None:
            container.remove(force=True)
    release_text, _, status = output.partition("@@envcapsule-dpkg@@\n")
    return parse_os_release(release_text), status if "Package:" in status else None


def plan_system(
    packages: Sequence[Mapping[str, Any]],
    *,
    base_release: Release,
    base_status: str | None,
    image: str,
    cache: Path,
    host: Release | None = None,
    progress: Progress | None = None,
    apt: AptRunner | None = None,
    foreign: bool = False,
) -> SystemPlan:
    """The system layer's plan for ``packages`` (``[[system.packages]]``) on a base of ``base_release``.

    ``foreign``: the image is for another CPU than this host's, so its own repository serves them.
    """
    progress = progress or NullProgress()
    names = tuple(str(p["name"]) for p in packages)
    if not packages:
        return SystemPlan("none", base_release)
    if base_status is None:
        raise SystemPackagesError(
            f"The base image {image} has no dpkg, so the capsule's {len(packages)} system package(s) ({', '.join(names[:6])}) "
            "cannot be installed in it",
            "pass {option:base_image} with a Debian or Ubuntu image",
        )
    host = host or host_release()
    apt = apt or AptRunner()
    if foreign or host != base_release or not apt.available():
        if foreign:
            why = "the image is for another CPU than this host's"
        elif not apt.available():
            why = "this host has no apt"
        else:
            why = f"the base image runs {base_release.describe()} and this host {host.describe()}"
        return SystemPlan(
            "by-name",
            base_release,
            names=names,
            warnings=(
                f"The image installs its {len(names)} system package(s) by name from the base image's repository, since {why}; "
                "versions may differ from the capture (the build's log names them).",
            ),
        )
    debs, warnings = _resolved(packages, base_status, apt, cache, progress, image, base_release)
    if debs:
        progress.step("Fetching system packages into the host cache", total=len(debs))
    fetched = tuple(_ensure_cached(cache, debs, apt, progress))
    return SystemPlan("offline", base_release, debs=fetched, names=names, warnings=tuple(warnings))


def _resolved(
    packages: Sequence[Mapping[str, Any]],
    base_status: str,
    apt: AptRunner,
    cache: Path,
    progress: Progress,
    image: str,
    release: Release,
) -> tuple[list[DebFile], list[str]]:
    """apt's answer for these packages on this base, remembered for as long as the host's package lists stay the same."""
    key = sha256_bytes(
        json.dumps(
            [sorted(f"{p['name']}={p['version']}" for p in packages), sha256_bytes(base_status.encode()), apt.lists_stamp()]
        ).encode()
    )
    record = cache / "plans" / f"{key}.json"
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        return [DebFile(**deb) for deb in data["debs"]], list(data["warnings"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    progress.step(f"Resolving {len(packages)} system package(s) against the base image {image} ({release.describe()})")
    available, warnings = apt.pick_versions(packages)
    debs = apt.resolve(available, base_status)
    with atomic_writer(record, "w", encoding="utf-8") as stream:
        stream.write(json.dumps({"debs": [asdict(deb) for deb in debs], "warnings": warnings}))
    return debs, warnings


def cached_path(cache: Path, deb: DebFile) -> Path:
    return cache / deb.sha256[:2] / deb.sha256 / deb.filename


def _ensure_cached(cache: Path, debs: Sequence[DebFile], apt: AptRunner, progress: Progress) -> list[DebFile]:
    missing = [d for d in debs if not _cached_and_sound(cache, d)]
    if missing:
        with tempfile.TemporaryDirectory(prefix="envcapsule-debs-") as scratch:
            apt.download(missing, Path(scratch))
            for deb in missing:
                downloaded = Path(scratch) / deb.filename
                data = downloaded.read_bytes() if downloaded.is_file() else b""
                if not data:
                    raise SystemPackagesError(
                        f"apt-get download did not fetch {deb.name} {deb.version} ({deb.filename})",
                        "check that this host reaches its apt repositories (apt-get update), then build again",
                    )
                if sha256_bytes(data) != deb.sha256:
                    raise SystemPackagesError(
                        f"{deb.filename} does not match the sha256 its repository lists ({deb.sha256[:12]}…); it was not installed",
                        "run apt-get update and build again; if it persists, the mirror serves a different file",
                    )
                with atomic_writer(cached_path(cache, deb)) as stream:
                    stream.write(data)
                progress.advance(deb.filename)
    return list(debs)


def _cached_and_sound(cache: Path, deb: DebFile) -> bool:
    """A cached file is used only when it still has its sha256; one that does not is removed and fetched again."""
    path = cached_path(cache, deb)
    if not path.is_file():
        return False
    if sha256_bytes(path.read_bytes()) == deb.sha256:
        return True
    path.unlink()
    return False


def link_debs(plan: SystemPlan, cache: Path, folder: Path) -> None:
    """``system/`` of a build context: the checked .deb files (offline) or ``apt.txt`` (by name)."""
    from envcapsule.image.wheelcache import link_or_copy

    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    if plan.mode == "offline":
        debs = folder / "debs"
        debs.mkdir()
        debs.chmod(0o755)
        for deb in plan.debs:
            link_or_copy(cached_path(cache, deb), debs / deb.filename)
    (folder / "apt.txt").write_text("".join(f"{name}\n" for name in plan.names), encoding="utf-8")
    (folder / "apt.txt").chmod(0o644)


class AptRunner:
    """The host's apt, asked about another system's state: the base image's dpkg status, an empty archive folder."""

    def __init__(self, apt_get: str = "apt-get", apt_cache: str = "apt-cache") -> None:
        self.apt_get = shutil.which(apt_get)
        self.apt_cache = shutil.which(apt_cache)

    def available(self) -> bool:
        return bool(self.apt_get and self.apt_cache)

    def lists_stamp(self, lists: Path = Path("/var/lib/apt/lists")) -> list[Any]:
        """What changes when ``apt-get update`` brings new package lists (names, sizes, times of the index files)."""
        try:
            return sorted([p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in lists.iterdir() if p.is_file())
        except OSError:
            return []

    def _run(self, argv: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                list(argv), capture_output=True, text=True, timeout=_APT_TIMEOUT, check=False, cwd=cwd, env=_apt_env()
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SystemPackagesError(f"{argv[0]} could not run ({error})", "check this host's apt, then build again") from None

    def show(self, pins: Sequence[str]) -> dict[tuple[str, str], dict[str, str]]:
        """(name, version) -> the index record's fields (SHA256, Filename, Size, Architecture) of each pin apt knows."""
        done = self._run([self.apt_cache or "apt-cache", "show", "--no-all-versions", *pins])
        records: dict[tuple[str, str], dict[str, str]] = {}
        for block in done.stdout.split("\n\n"):
            fields = dict(
                (key.strip(), value.strip())
                for key, sep, value in (line.partition(":") for line in block.splitlines() if not line.startswith(" "))
                if sep
            )
            # The host's own dpkg status also answers for an installed version: only a repository's record has a file.
            if fields.get("Package") and fields.get("Version") and fields.get("Filename"):
                records.setdefault((fields["Package"], fields["Version"]), fields)
        return records

    def pick_versions(self, packages: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
        """``name=version`` where the repositories still have the captured version, else ``name`` and a warning naming both."""
        pins = [f"{p['name']}={p['version']}" for p in packages]
        known = self.show(pins)
        chosen, warnings = [], []
        for package in packages:
            name, version = str(package["name"]), str(package["version"])
            if (name, version) in known:
                chosen.append(f"{name}={version}")
                continue
            candidate = self.show([name])
            found = next((v for (n, v) in candidate if n == name), None)
            if found is None:
                raise SystemPackagesError(
                    f"The system package {name} is in none of this host's apt repositories",
                    "run apt-get update (or add the repository that has it), then build again",
                )
            warnings.append(f"{name} {version} (captured) is no longer in the repositories; the image gets {name} {found}.")
            chosen.append(name)
        return chosen, warnings

    def resolve(self, pins: Sequence[str], base_status: str) -> list[DebFile]:
        """Every .deb that installing ``pins`` on the base image needs, dependencies included, by apt's own resolver."""
        with tempfile.TemporaryDirectory(prefix="envcapsule-apt-") as scratch:
            status = Path(scratch) / "status"
            status.write_text(base_status, encoding="utf-8")
            (Path(scratch) / "archives" / "partial").mkdir(parents=True)
            done = self._run(
                [
                    self.apt_get or "apt-get",
                    "install",
                    "--print-uris",
                    "-qq",
                    "--no-install-recommends",
                    "-o",
                    f"Dir::State::status={status}",
                    "-o",
                    f"Dir::Cache::archives={scratch}/archives",
                    *_LOCKLESS,
                    *pins,
                ]
            )
        if done.returncode != 0:
            reason = " ".join(line.removeprefix("E: ") for line in done.stderr.splitlines() if line.startswith("E:"))
            raise SystemPackagesError(
                f"apt cannot install {' '.join(pins[:6])} on the base image ({reason or 'exit status ' + str(done.returncode)})",
                "run apt-get update on this host, or pass {option:base_image} with another image",
            )
        wanted: list[tuple[str, str, str]] = []
        for line in done.stdout.splitlines():
            match = _URI_LINE.match(line.strip())
            if match:
                name, version, architecture = unquote(match["filename"]).removesuffix(".deb").split("_")
                wanted.append((name, version, architecture))
        records = self.show([f"{n}={v}" for n, v, _ in wanted]) if wanted else {}
        debs = []
        for name, version, architecture in wanted:
            record = records.get((name, version))
            if not record or not record.get("SHA256"):
                raise SystemPackagesError(
                    f"The repository index lists no sha256 for {name} {version}, so it cannot be checked",
                    "run apt-get update on this host, then build again",
                )
            filename = f"{name}_{version.split(':', 1)[-1]}_{architecture}.deb"
            debs.append(DebFile(name, version, architecture, filename, record["SHA256"], int(record.get("Size") or 0)))
        return sorted(debs, key=lambda d: d.name)

    def download(self, debs: Sequence[DebFile], folder: Path) -> None:
        done = self._run(
            [self.apt_get or "apt-get", "download", *_LOCKLESS, *(f"{d.name}={d.version}" for d in debs)], cwd=folder
        )
        if done.returncode != 0:
            reason = " ".join(line.removeprefix("E: ") for line in done.stderr.splitlines() if line.startswith("E:"))
            raise SystemPackagesError(
                f"apt-get download could not fetch {', '.join(d.name for d in debs[:6])} ({reason or 'exit status ' + str(done.returncode)})",
                "check that this host reaches its apt repositories, then build again",
            )
        # apt names a file with its epoch as %3a; the cache and the build context use the plain name.
        for deb in debs:
            for found in folder.glob(f"{deb.name}_*_{deb.architecture}.deb"):
                if found.name != deb.filename:
                    os.replace(found, folder / deb.filename)


def _apt_env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    return env
