"""Find, for every installed distribution, the exact file it was installed from.

An index distribution is matched by version and by the tag set of its dist-info
``WHEEL`` file, compared as sets with the tags in each candidate wheel's filename.
Direct installs (PEP 610) lock to their commit, archive or a wheel built into the
capsule's ``vendor/`` folder. Anything that cannot be locked exactly becomes an
``unresolved`` entry carrying the reason, never a silent guess.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from envcapsule.atomic import atomic_writer
from envcapsule.capsule import sha256_file
from envcapsule.errors import EnvcapsuleError
from envcapsule.facts import Distribution, tag_strings
from envcapsule.lock.entries import BuiltWheel, LockEntry
from envcapsule.lock.index import IndexFile
from envcapsule.progress import NullProgress, Progress


class ProjectFiles(Protocol):
    """The part of IndexClient that resolution needs (a seam for tests)."""

    unavailable: set[str]

    def many_project_files(
        self, projects: Iterable[str], progress: Callable[[str], None] | None = None
    ) -> dict[str, list[IndexFile]]: ...

    def file_size(self, url: str) -> int | None: ...


WheelBuilder = Callable[[str, Path], Path]
"""Builds a wheel from a pip requirement spec into a folder and returns its path."""


def resolve_distributions(
    distributions: Sequence[Distribution],
    client: ProjectFiles,
    *,
    locations: Sequence[str],
    vendor_dir: Path,
    build_wheel: WheelBuilder,
    cache: ResolutionCache | None = None,
    progress: Progress | None = None,
    image_glibc: tuple[int, int] | None = None,
) -> list[LockEntry]:
    """One LockEntry per distribution, in the order given.

    A wheel found only in a local folder is looked up on the remote indexes by name and sha256,
    else copied into ``vendor_dir``; an sdist is built into a wheel there, unless the index has a
    wheel of that version that fits the image (pure, or manylinux up to ``image_glibc``).
    """
    progress = progress or NullProgress()
    entries: dict[str, LockEntry] = {}
    from_index = [d for d in distributions if d.source_kind == "index"]
    direct = [d for d in distributions if d.source_kind != "index"]

    misses: list[Distribution] = []
    for dist in from_index:
        hit = cache.get(locations, dist) if cache else None
        if hit is not None and not _is_local(hit.url):
            entries[dist.name] = hit
        else:
            misses.append(dist)

    if misses:
        progress.step("Looking up files on the package indexes", total=len(misses))
        pages = client.many_project_files([d.name for d in misses], progress=progress.advance)
        matched = [_match_index_file(dist, pages.get(dist.name, []), client, locations, image_glibc) for dist in misses]
        matched = _fill_sizes(matched, client)
        for entry in matched:
            entries[entry.name] = entry
            if (
                cache
                and entry.kind in ("wheel", "sdist")
                and entry.sha256
                and entry.size is not None
                and not _is_local(entry.url)
            ):
                cache.put(locations, entry)
        for name, entry in list(entries.items()):
            if entry.kind == "wheel" and _is_local(entry.url):
                entries[name] = _vendor_local_wheel(entry, pages.get(name, []), vendor_dir)

    sdists = [e for e in entries.values() if e.kind == "sdist" and e.built is None]
    if sdists:
        progress.step("Building wheels from source distributions", total=len(sdists))
        for entry in sdists:
            entries[entry.name] = _build_sdist(entry, client, vendor_dir, build_wheel)
            progress.advance(entry.name)

    if direct:
        progress.step("Locking direct installs", total=len(direct))
        for dist in direct:
            entries[dist.name] = _lock_direct(dist, vendor_dir, build_wheel)
            progress.advance(dist.name)
    return [entries[d.name] for d in distributions]


def _match_index_file(
    dist: Distribution,
    files: Sequence[IndexFile],
    client: ProjectFiles,
    locations: Sequence[str],
    image_glibc: tuple[int, int] | None = None,
) -> LockEntry:
    if dist.name in client.unavailable:
        return LockEntry(
            dist,
            "unresolved",
            reason=f"{dist.name}=={dist.version}: no index data is cached for it and --offline forbids a look-up.",
        )
    wanted = tag_strings(dist.wheel_tags)
    same_version = [f for f in files if _file_version(f) == _parse_version(dist.version)]
    if not same_version:
        where = ", ".join(locations) or "no index (pip is configured with --no-index)"
        return LockEntry(dist, "unresolved", reason=f"{dist.name}=={dist.version} is not on the configured indexes ({where}).")

    wheels = [f for f in same_version if f.filename.endswith(".whl") and _wheel_tags(f.filename) == wanted]
    if wheels:
        hashed = [f for f in wheels if f.sha256]
        if not hashed:
            return LockEntry(
                dist,
                "unresolved",
                reason=f"{wheels[0].filename} is on {wheels[0].index}, but that index publishes no sha256 for it.",
            )
        # The same file (same sha256) on a remote index beats a local folder's copy; another file of that name never does.
        local = [f for f in hashed if _is_local(f.url)]
        remote_twins = [f for f in hashed if not _is_local(f.url) and local and f.sha256 == local[0].sha256]
        return _entry_from_file(dist, "wheel", (remote_twins or local or hashed)[0])

    sdists = [f for f in same_version if not f.filename.endswith(".whl") and f.sha256]
    if sdists and _built_locally(dist, same_version):
        how = _how_installed(dist)
        fitting = [f for f in same_version if f.sha256 and _fits_image(f.filename, dist, image_glibc)]
        if fitting:
            note = (
                f"{dist.name}=={dist.version} was installed {how}; the capsule locks the index's wheel of the same "
                f"version, {fitting[0].filename}, which fits the image."
            )
            return _entry_from_file(dist, "wheel", fitting[0], note=note)
        return _entry_from_file(
            dist,
            "sdist",
            sdists[0],
            note=f"{dist.name}=={dist.version} was installed {how}; the capsule locks its source distribution, built into a wheel in vendor/.",
        )
    shown = ", ".join(sorted(wanted)) or "no WHEEL tags"
    return LockEntry(
        dist,
        "unresolved",
        reason=f"{dist.name}=={dist.version} is on the indexes, but no file there matches its installed tags ({shown}).",
    )


def _how_installed(dist: Distribution) -> str:
    return "from a wheel built on this machine" if dist.wheel_tags else "without a wheel (an old-style install)"


def _is_local(url: str | None) -> bool:
    return bool(url) and str(url).startswith("file:")


def _fits_image(filename: str, dist: Distribution, glibc: tuple[int, int] | None) -> bool:
    """A published wheel the image can install in place of a local build: pure, or manylinux for its Python and glibc."""
    if not filename.endswith(".whl"):
        return False
    tags = _wheel_tags(filename)
    if any(t.endswith("-none-any") and t.startswith("py3") for t in tags):
        return True
    installed = [t.split("-") for t in tag_strings(dist.wheel_tags)]
    if glibc is None or not installed:
        return False
    for interpreter, abi, platform in (t.split("-") for t in tags):
        for want_interpreter, want_abi, want_platform in installed:
            arch = want_platform.removeprefix("linux_")
            match = re.fullmatch(r"manylinux_(\d+)_(\d+)_(.+)", _legacy_manylinux(platform))
            if (interpreter, abi) == (want_interpreter, want_abi) and match and match.group(3) == arch:
                if (int(match.group(1)), int(match.group(2))) <= glibc:
                    return True
    return False


def _legacy_manylinux(platform: str) -> str:
    legacy = {"manylinux1": "manylinux_2_5", "manylinux2010": "manylinux_2_12", "manylinux2014": "manylinux_2_17"}
    for old, new in legacy.items():
        if platform.startswith(old + "_"):
            return new + platform[len(old) :]
    return platform


def _vendor_local_wheel(entry: LockEntry, files: Sequence[IndexFile], vendor_dir: Path) -> LockEntry:
    """A wheel only a folder of this machine holds: copied into the capsule, with a warning that names its size."""
    source = _local_path(entry.url or "")
    filename = entry.filename or ""
    others = sorted({f.index for f in files if not _is_local(f.url) and f.filename == filename and f.sha256 != entry.sha256})
    differs = f"; {', '.join(others)} has a file of that name with another sha256, which was not substituted" if others else ""
    if source is None or not source.is_file():
        return replace(entry, kind="unresolved", reason=f"{filename} was found at {entry.url}, which cannot be read.")
    vendor_dir.mkdir(parents=True, exist_ok=True)
    target = vendor_dir / filename
    shutil.copyfile(source, target)
    if sha256_file(target) != entry.sha256:
        target.unlink()
        return replace(entry, kind="unresolved", reason=f"{source} no longer matches the sha256 its index listed.")
    size = target.stat().st_size
    note = (
        f"{entry.name}=={entry.version}: {filename} exists only on this machine ({source.parent}), so the capsule "
        f"carries a copy in vendor/ ({size:,} bytes){differs}."
    )
    return replace(
        entry, kind="vendored", url=None, index=None, note=note, strict_problem=True, **_vendored_fields(target, vendor_dir)
    )


def _build_sdist(entry: LockEntry, client: ProjectFiles, vendor_dir: Path, build_wheel: WheelBuilder) -> LockEntry:
    """Build the locked sdist into a wheel in ``vendor_dir``; a failure is a warning with the build's last error line."""
    import tempfile

    fetch = getattr(client, "fetch", None)
    filename = entry.filename or f"{entry.name}-{entry.version}.tar.gz"
    try:
        with tempfile.TemporaryDirectory(prefix="envcapsule-sdist-") as scratch:
            sdist = Path(scratch) / filename
            if fetch is None:
                raise RuntimeError("no index client can download it")
            fetch(entry.url or "", sdist, entry.sha256 or "")
            wheel = build_wheel(str(sdist), vendor_dir)
    except (OSError, RuntimeError, EnvcapsuleError) as error:
        last = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        note = (
            f"{entry.name}=={entry.version} was installed {_how_installed(entry.distribution)}, and building a wheel from "
            f"its source distribution {filename} on this machine failed ({last}); the image cannot hold it until a "
            "compiler or the library it needs is installed (or a published wheel), and you snapshot again."
        )
        return replace(entry, note=note, strict_problem=True)
    fields = _vendored_fields(wheel, vendor_dir)
    return replace(entry, built=BuiltWheel(fields["vendored_path"], fields["sha256"], fields["size"]))


def _built_locally(dist: Distribution, same_version: Sequence[IndexFile]) -> bool:
    """True when no published wheel could have produced the installed tags (a local sdist build or egg)."""
    if not dist.wheel_tags:
        return True
    published = set().union(*(_wheel_tags(f.filename) for f in same_version if f.filename.endswith(".whl")))
    return not (tag_strings(dist.wheel_tags) & published)


def _entry_from_file(dist: Distribution, kind: Any, file: IndexFile, note: str | None = None) -> LockEntry:
    return LockEntry(
        dist,
        kind,
        url=file.url,
        sha256=file.sha256,
        size=file.size,
        index=file.index,
        upload_time=file.upload_time,
        note=note,
    )


def _fill_sizes(entries: list[LockEntry], client: ProjectFiles) -> list[LockEntry]:
    """Ask for the sizes that PEP 503 pages do not carry, concurrently."""
    missing = [i for i, e in enumerate(entries) if e.kind in ("wheel", "sdist") and e.size is None and e.url]
    if not missing:
        return entries
    with ThreadPoolExecutor(max_workers=16) as pool:
        sizes = list(pool.map(lambda i: client.file_size(entries[i].url or ""), missing))
    filled = list(entries)
    for i, size in zip(missing, sizes):
        filled[i] = replace(filled[i], size=size)
    return filled


def _parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _file_version(file: IndexFile) -> Version | None:
    try:
        if file.filename.endswith(".whl"):
            return parse_wheel_filename(file.filename)[1]
        return parse_sdist_filename(file.filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _wheel_tags(filename: str) -> frozenset[str]:
    try:
        return frozenset(str(tag) for tag in parse_wheel_filename(filename)[3])
    except (InvalidWheelFilename, InvalidVersion):
        return frozenset()


# --- direct installs (PEP 610) ---------------------------------------------------------


def _lock_direct(dist: Distribution, vendor_dir: Path, build_wheel: WheelBuilder) -> LockEntry:
    direct = dict(dist.direct_url or {})
    url = str(direct.get("url", ""))
    if "vcs_info" in direct:
        return _lock_vcs(dist, direct, vendor_dir, build_wheel)
    if "dir_info" in direct:
        return _lock_directory(dist, url, vendor_dir, build_wheel)
    return _lock_archive(dist, direct)


def _lock_vcs(dist: Distribution, direct: dict[str, Any], vendor_dir: Path, build_wheel: WheelBuilder) -> LockEntry:
    info = direct["vcs_info"]
    vcs, url, commit = info.get("vcs", "git"), str(direct.get("url", "")), info.get("commit_id")
    if not commit:
        return LockEntry(dist, "unresolved", reason=f"{dist.name} was installed from {vcs} at {url} without a recorded commit.")
    entry = LockEntry(
        dist,
        "vcs",
        url=url,
        vcs=vcs,
        commit=commit,
        requested_revision=info.get("requested_revision"),
        subdirectory=direct.get("subdirectory"),
    )
    spec = f"{dist.display_name or dist.name} @ {vcs}+{url}@{commit}"
    if direct.get("subdirectory"):
        spec += f"#subdirectory={direct['subdirectory']}"
    try:
        wheel = build_wheel(spec, vendor_dir)
    except (OSError, RuntimeError) as error:
        return replace(
            entry, note=f"{dist.name} is locked to {vcs} commit {commit[:12]}, but building it into the capsule failed ({error})."
        )
    return replace(entry, **_vendored_fields(wheel, vendor_dir))


def _lock_directory(dist: Distribution, url: str, vendor_dir: Path, build_wheel: WheelBuilder) -> LockEntry:
    source = _local_path(url)
    how = "an editable install" if dist.is_editable else "a local folder"
    if source is None or not source.is_dir():
        return LockEntry(
            dist, "unresolved", reason=f"{dist.name} is {how} from {url}, which no longer exists, so no wheel can be built."
        )
    try:
        wheel = build_wheel(str(source), vendor_dir)
    except (OSError, RuntimeError) as error:
        return LockEntry(
            dist, "unresolved", reason=f"{dist.name} is {how} from {source}, and building a wheel from it failed ({error})."
        )
    note = f"{dist.name} is {how} ({source}); the capsule holds a wheel built from it as it was at the snapshot."
    return LockEntry(dist, "vendored", note=note, **_vendored_fields(wheel, vendor_dir))


def _lock_archive(dist: Distribution, direct: dict[str, Any]) -> LockEntry:
    url = str(direct.get("url", ""))
    info = direct.get("archive_info") or {}
    sha256 = (info.get("hashes") or {}).get("sha256")
    legacy = info.get("hash", "")
    if not sha256 and legacy.startswith("sha256="):
        sha256 = legacy.split("=", 1)[1]
    local = _local_path(url)
    if local is not None:
        return LockEntry(
            dist,
            "unresolved",
            reason=f"{dist.name} was installed from the local file {local}; keep that file beside the notebook or publish it on an index.",
        )
    if not sha256:
        return LockEntry(
            dist, "unresolved", reason=f"{dist.name} was installed from {url} and no sha256 of that archive was recorded."
        )
    return LockEntry(dist, "archive", url=url, sha256=sha256)


def _vendored_fields(wheel: Path, vendor_dir: Path) -> dict[str, Any]:
    return {
        "vendored_path": f"{vendor_dir.name}/{wheel.name}",
        "sha256": sha256_file(wheel),
        "size": wheel.stat().st_size,
    }


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path))


# --- the resolution cache ----------------------------------------------------------------


class ResolutionCache:
    """Remembers which index file matched (locations, name, version, tags): released files never change."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, locations: Sequence[str], dist: Distribution) -> Path:
        key = json.dumps([list(locations), dist.name, dist.version, sorted(tag_strings(dist.wheel_tags))])
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.root / digest[:2] / f"{digest}.json"

    def get(self, locations: Sequence[str], dist: Distribution) -> LockEntry | None:
        try:
            data = json.loads(self._path(locations, dist).read_text())
        except (OSError, ValueError):
            return None
        fields = {k: data.get(k) for k in ("url", "sha256", "size", "index", "upload_time", "note")}
        if data.get("kind") not in ("wheel", "sdist") or not fields["sha256"]:
            return None
        return LockEntry(dist, data["kind"], **fields)

    def put(self, locations: Sequence[str], entry: LockEntry) -> None:
        path = self._path(locations, entry.distribution)
        record = {
            "kind": entry.kind,
            "url": entry.url,
            "sha256": entry.sha256,
            "size": entry.size,
            "index": entry.index,
            "upload_time": entry.upload_time,
            "note": entry.note,
        }
        try:
            with atomic_writer(path, "w", encoding="utf-8") as stream:
                json.dump(record, stream)
        except OSError:
            pass  # a cache that cannot be written only costs speed
