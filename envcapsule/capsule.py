"""The capsule folder: capsule.toml + lockfiles + vendored wheels + the notebook.

A capsule is written into a temporary sibling folder and renamed into place at the end,
so a failed or interrupted snapshot leaves any previous capsule untouched. The capsule
hash is a sha256 over the canonical content that determines the image; the creation
time and envcapsule's version are left out so that the same environment always gives
the same hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from envcapsule import _toml as tomllib
from envcapsule import grammar
from envcapsule.errors import CapsuleError

if TYPE_CHECKING:
    from envcapsule.notebook_files.store import NotebookFile

SCHEMA_VERSION = 1
MANIFEST = "capsule.toml"
FACTS = "facts.json"
# Written beside the capsule's files after the snapshot (build, push and verify results, the rendered Dockerfile).
# They describe the capsule's image, so a snapshot that gives the same capsule hash keeps them.
RECORDS = ("build.json", "push.json", "verify.json", "Dockerfile")
# The pins a build writes (the base image's digest, the server environment's lock), outside the capsule hash:
# a snapshot keeps them whatever it captures, and a build checks that they fit before using them.
PINS = ("image.lock", "server.pylock.toml")


@dataclass(frozen=True)
class LockfileRecord:
    path: str
    format: str
    sha256: str


@dataclass(frozen=True)
class Capsule:
    """A capsule folder as read back from disk."""

    folder: Path
    manifest: Mapping[str, Any]

    @property
    def capsule_hash(self) -> str:
        return str(self.manifest["capsule_hash"])

    @property
    def notebooks(self) -> list[str]:
        return [n["path"] for n in self.manifest.get("notebooks", [])]

    @property
    def lockfiles(self) -> list[LockfileRecord]:
        return [LockfileRecord(**record) for record in self.manifest.get("lockfiles", [])]

    @property
    def files(self) -> list[NotebookFile]:
        """The notebook's files (``[[files]]``): relative paths, sizes and sha256s; the copies are under ``files/``."""
        from envcapsule.notebook_files.store import NotebookFile

        return [NotebookFile.from_record(r, f"files[{i}]") for i, r in enumerate(_records(self.manifest, "files"))]

    @property
    def files_hash(self) -> str | None:
        """The identity of the notebook's files, kept apart from the capsule hash (a changed CSV is not a new environment)."""
        value = self.manifest.get("files_hash")
        return str(value) if value and self.manifest.get("files") else None

    @property
    def warnings(self) -> list[dict[str, str]]:
        return list(self.manifest.get("warnings", []))

    def facts(self) -> dict[str, Any]:
        return json.loads((self.folder / FACTS).read_text(encoding="utf-8"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def capsule_hash(manifest: Mapping[str, Any]) -> str:
    """sha256 over what determines the image: interpreter, platform, lockfiles, vendored files, notebooks, environment."""
    platform = manifest.get("platform", {})
    canonical = {
        "schema": manifest.get("schema"),
        "interpreter": {k: manifest["interpreter"].get(k) for k in ("implementation", "version", "abi_tag")},
        "platform": {k: platform.get(k) for k in ("os", "machine", "libc")},
        "target": manifest.get("target"),
        "lockfiles": sorted((r["path"], r["sha256"]) for r in manifest.get("lockfiles", [])),
        "vendor": sorted((r["path"], r["sha256"]) for r in manifest.get("vendor", [])),
        "notebooks": sorted((r["path"], r["sha256"]) for r in manifest.get("notebooks", [])),
        "environment": dict(sorted(manifest.get("environment", {}).items())),
        "base_image": manifest.get("base_image", {}).get("name"),
    }
    system = manifest.get("system")
    if system:
        # The packages and how the kernel reads them; not what each was recorded for.
        canonical["system"] = {
            "packages": sorted((p.get("name"), p.get("version"), p.get("architecture")) for p in system.get("packages", [])),
            "python_packages": system.get("python_packages"),
            "site_packages": system.get("site_packages", []),
            "libraries": system.get("libraries", []),
        }
    if manifest.get("cuda"):
        # What the image depends on, not what the capturing host happened to have (driver, GPUs).
        canonical["cuda"] = {k: manifest["cuda"].get(k) for k in ("version", "source", "min_driver")}
    return sha256_bytes(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode())


@dataclass
class CapsuleWriter:
    """Collects the files of a capsule in a temporary folder, then publishes them in one rename."""

    staging: Path
    files: dict[str, str] = field(default_factory=dict)

    def write_text(self, relative: str, text: str) -> str:
        data = text.encode("utf-8")
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        digest = sha256_bytes(data)
        self.files[relative] = digest
        return digest

    def copy_file(self, source: Path, relative: str) -> str:
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        digest = sha256_bytes(target.read_bytes())
        self.files[relative] = digest
        return digest

    @property
    def vendor_dir(self) -> Path:
        return self.staging / "vendor"


@contextmanager
def staged_capsule(destination: Path) -> Iterator[CapsuleWriter]:
    """Yield a writer for a temporary sibling of ``destination``; on success swap it into place."""
    parent = destination.parent
    if not parent.is_dir():
        raise CapsuleError(f"The folder {parent} does not exist; create it or pass --out with an existing folder.")
    if destination.exists() and not destination.is_dir():
        raise CapsuleError(f"{destination} is a file, not a capsule folder; move it away or pass --out with another folder.")
    if destination.is_dir():
        require_writable(destination, "a snapshot replaces the capsule")  # before the look-ups, not after
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=parent))
    except OSError as error:
        raise CapsuleError(
            f"Cannot write the capsule into {parent} ({error.strerror}); pass --out with a folder you can write to."
        ) from None
    try:
        yield CapsuleWriter(staging)
        _publish(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _publish(staging: Path, destination: Path) -> None:
    if destination.exists() and not (destination / MANIFEST).exists() and any(destination.iterdir()):
        raise CapsuleError(f"{destination} exists and is not a capsule; move it away or pass --out with another folder.")
    os.chmod(staging, 0o755)
    try:
        if not destination.exists():
            os.replace(staging, destination)
            return
        _carry_records(destination, staging)
        retired = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".old", dir=destination.parent))
        try:
            os.replace(destination, retired / "capsule")
            try:
                os.replace(staging, destination)
            except OSError:
                os.replace(retired / "capsule", destination)  # put the previous capsule back
                raise
        finally:
            shutil.rmtree(retired, ignore_errors=True)
    except OSError as error:
        raise CapsuleError(
            f"Cannot replace the capsule {destination} ({error.strerror}); make it writable, or pass --out with another folder."
        ) from None


def _carry_records(previous: Path, staged: Path) -> None:
    """Keep the previous capsule's pins, and its build, push and verify records when the new one has the same capsule and files hashes."""
    for name in PINS:
        if (previous / name).is_file() and not (staged / name).exists():
            shutil.copy2(previous / name, staged / name)
    if _recorded_hash(previous) is None or _recorded_hash(previous) != _recorded_hash(staged):
        return
    if _recorded_hash(previous, "files_hash") != _recorded_hash(staged, "files_hash"):
        return
    for name in RECORDS:
        if (previous / name).is_file() and not (staged / name).exists():
            shutil.copy2(previous / name, staged / name)


def _recorded_hash(folder: Path, key: str = "capsule_hash") -> str | None:
    try:
        return str(tomllib.loads((folder / MANIFEST).read_text(encoding="utf-8"))[key])
    except (OSError, ValueError, KeyError, UnicodeDecodeError):
        return None


def require_writable(folder: Path, doing: str) -> None:
    """Refuse at once, before any long work, when ``folder`` cannot take the records ``doing`` writes there."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".envcapsule-write-check."):
            pass
    except OSError as error:
        raise CapsuleError(
            f"Cannot write into the capsule folder {folder} ({error.strerror}), where {doing}; "
            "make it writable, or copy the capsule to a folder you can write to."
        ) from None


def render_manifest(manifest: Mapping[str, Any]) -> str:
    header = "# The envcapsule manifest. The capsule hash covers the lockfiles, so edit nothing by hand.\n"
    return header + tomli_w.dumps(_drop_none(manifest))


def _drop_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def read_capsule(folder: Path, *, verify: bool = True) -> Capsule:
    """Read a capsule folder; with ``verify``, refuse one whose files no longer match their recorded hashes."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise CapsuleError(f"{folder} is not a capsule (no {MANIFEST}); run `envcapsule snapshot` first.")
    try:
        manifest = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CapsuleError(f"{manifest_path} is not valid TOML ({error}); snapshot again to rewrite it.") from None
    if manifest.get("schema") != SCHEMA_VERSION:
        raise CapsuleError(
            f"{manifest_path} has schema {manifest.get('schema')!r}, and this envcapsule reads schema {SCHEMA_VERSION}; upgrade envcapsule or snapshot again."
        )
    capsule = Capsule(folder, manifest)
    if verify:
        verify_capsule(capsule)
    return capsule


def verify_capsule(capsule: Capsule) -> None:
    check_values(capsule.manifest)
    records = [
        *capsule.manifest.get("lockfiles", []),
        *capsule.manifest.get("vendor", []),
        *capsule.manifest.get("notebooks", []),
    ]
    for record in records:
        path = capsule.folder / record["path"]
        if not path.is_file():
            raise CapsuleError(f"{path} is missing from the capsule; snapshot again to recreate it.")
        if sha256_bytes(path.read_bytes()) != record["sha256"]:
            raise CapsuleError(
                f"{record['path']} was changed after the snapshot (its sha256 no longer matches {MANIFEST}); "
                "snapshot again instead of editing lockfiles by hand."
            )
    if capsule_hash(capsule.manifest) != capsule.capsule_hash:
        raise CapsuleError(f"{MANIFEST} was edited by hand (the capsule hash no longer matches its content); snapshot again.")
    _verify_files(capsule)


def _verify_files(capsule: Capsule) -> None:
    """The notebook's files are there with their recorded sizes; their contents are checked when a build copies them."""
    from envcapsule.notebook_files.store import FILES_FOLDER, files_hash

    files = capsule.files
    if files and files_hash(files) != capsule.manifest.get("files_hash"):
        raise CapsuleError(f"{MANIFEST} was edited by hand (the files hash no longer matches its [[files]]); snapshot again.")
    for file in files:
        path = capsule.folder / FILES_FOLDER / file.path
        if not path.is_file() or path.stat().st_size != file.size:
            raise CapsuleError(
                f"{FILES_FOLDER}/{file.path} is missing from the capsule or was changed after the snapshot; snapshot again to recreate it."
            )


def check_values(manifest: Mapping[str, Any]) -> None:
    """Refuse a manifest with a value outside its grammar: every one of these reaches the image or its build context."""
    grammar.sha256("capsule_hash", manifest.get("capsule_hash"))
    for kind in ("notebooks", "lockfiles", "vendor"):
        for index, record in enumerate(_records(manifest, kind)):
            grammar.relative_path(f"{kind}[{index}].path", record.get("path"))
            grammar.sha256(f"{kind}[{index}].sha256", record.get("sha256"))
            if kind == "lockfiles":
                grammar.word(f"lockfiles[{index}].format", record.get("format"))
    interpreter = _section(manifest, "interpreter")
    grammar.matching("interpreter.version", interpreter.get("version"), grammar.PYTHON_VERSION, "a Python version")
    _optional_words(interpreter, "interpreter", ("implementation", "abi_tag", "environment_kind"))
    platform_keys = ("os", "machine", "distro_id", "distro_version", "distro_codename", "libc", "libc_version")
    _optional_words(_section(manifest, "platform"), "platform", platform_keys)
    target = _section(manifest, "target")
    for key in ("platforms", "unlocked"):
        for index, platform in enumerate(target.get(key) or []):
            grammar.matching(f"target.{key}[{index}]", platform, grammar.PLATFORM, "a platform such as linux/amd64")
    _optional_words(target, "target", ("glibc",))
    for key, value in _section(manifest, "environment").items():
        grammar.env_name(f"environment key {key!r}", key)
        grammar.text(f"environment.{key}", value)
    base = _section(manifest, "base_image")
    if base.get("name") is not None:
        grammar.image_reference("base_image.name", base["name"])
    _optional_words(_section(manifest, "cuda"), "cuda", ("version", "source", "min_driver"))
    conda = _section(manifest, "conda")
    if conda.get("lockfile") is not None:
        grammar.relative_path("conda.lockfile", conda["lockfile"])
    _optional_words(conda, "conda", ("platform",))
    _check_system(_section(manifest, "system"))
    grammar.text("created", str(manifest.get("created", "")))
    if manifest.get("files"):
        from envcapsule.notebook_files.store import NotebookFile

        for index, record in enumerate(_records(manifest, "files")):
            NotebookFile.from_record(record, f"files[{index}]")
        grammar.sha256("files_hash", manifest.get("files_hash"))


def _check_system(system: Mapping[str, Any]) -> None:
    """``[system]``: package names, versions and architectures in their package manager's grammar, site folders under /usr."""
    if not system:
        return
    _optional_words(system, "system", ("manager", "python_packages"))
    for index, record in enumerate(_records(system, "packages")):
        grammar.matching(f"system.packages[{index}].name", record.get("name"), grammar.PACKAGE_NAME, "a system package name")
        grammar.matching(f"system.packages[{index}].version", record.get("version"), grammar.PACKAGE_VERSION, "a package version")
        grammar.word(f"system.packages[{index}].architecture", record.get("architecture"))
    for index, folder in enumerate(system.get("site_packages") or []):
        grammar.matching(f"system.site_packages[{index}]", folder, grammar.SYSTEM_SITE_DIR, "a system site-packages folder")
    for index, library in enumerate(system.get("libraries") or []):
        grammar.matching(f"system.libraries[{index}]", library, grammar.SYSTEM_LIBRARY, "a library path under /usr/local or /opt")


def _section(manifest: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = manifest.get(name) or {}
    if not isinstance(section, Mapping):
        raise grammar.refused(name, section, "a table")
    return section


def _records(manifest: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    records = manifest.get(kind) or []
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise grammar.refused(kind, records, "a list of tables")
    return records


def _optional_words(section: Mapping[str, Any], name: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = section.get(key)
        if value not in (None, ""):
            grammar.word(f"{name}.{key}", value if isinstance(value, str) else str(value))
