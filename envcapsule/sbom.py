"""A capsule's software bill of materials: ``sbom.cdx.json``, CycloneDX 1.6 JSON written with cyclonedx-python-lib.

It is made from the capsule's own records — pylock.toml (the exact file each Python package
installs), facts.json (conda records, each distribution's metadata folder), capsule.toml
(system packages), build.json (the base image's digest, once built) and server.pylock.toml
(the server environment's lock) — and validated against the CycloneDX schema before it is
written, so an SBOM on disk always validates. A build makes it before the image's last
layer, which carries it at /opt/envcapsule/sbom.cdx.json. The kernel environment's packages are top-level components; the
server environment (JupyterLab and envcapsule's tooling, apart from the kernel) is one
component whose ``components`` are its wheels.
"""

from __future__ import annotations

import json
import os
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.parser import HeaderParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from envcapsule._version import __version__
from envcapsule.atomic import atomic_writer
from envcapsule.capsule import read_capsule
from envcapsule.errors import SbomError, UsageError
from envcapsule.facts import normalize_name
from envcapsule.lock.pylock import read_pylock
from envcapsule.paths import cache_root

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component

    from envcapsule.capsule import Capsule

SBOM_FILE = "sbom.cdx.json"
FORMATS = ("cyclonedx-json", "spdx-json")
PYPI = "https://pypi.org/simple"
SERVER_GROUP = "server-environment"


@dataclass(frozen=True)
class SbomResult:
    """An SBOM made for a capsule: where it was written and what it lists."""

    capsule: Path
    path: Path | None  # the capsule's sbom.cdx.json, None when the capsule folder is read-only
    output: Path | None  # the extra file asked for with -o
    document: str  # the JSON text in ``format``
    counts: Mapping[str, int]  # components by kind: pypi, conda, deb, oci, server
    format: str = "cyclonedx-json"  # of ``document`` and ``output``; the capsule's sbom.cdx.json is always CycloneDX

    def to_json(self) -> dict[str, Any]:
        return {
            "capsule": str(self.capsule),
            "path": str(self.path) if self.path else None,
            "output": str(self.output) if self.output else None,
            "format": self.format,
            "spec_version": "SPDX-2.3" if self.format == "spdx-json" else "1.6",
            "components": dict(self.counts),
        }


@dataclass(frozen=True)
class Package:
    """One entry of the SBOM before it becomes a CycloneDX component."""

    kind: str  # pypi, conda, deb, oci
    name: str
    version: str
    purl: str
    hashes: Mapping[str, str]  # algorithm (sha256, md5) → hex digest
    licence: str | None = None
    url: str | None = None


# --- what the capsule holds ---------------------------------------------------------------------


def python_packages(capsule: Capsule, facts: Mapping[str, Any]) -> list[Package]:
    """Each pylock.toml package with the file the image installs (the first wheel, else the built or source file)."""
    path = capsule.folder / "pylock.toml"
    if not path.is_file():
        return []
    lock = read_pylock(path.read_text(encoding="utf-8"))
    metadata_dirs = {normalize_name(d["name"]): d.get("metadata_dir") or "" for d in facts.get("distributions", [])}
    packages = []
    for package in lock.packages:
        name, version = str(package.name), str(package.version)
        sha, url, filename = _locked_file(package)
        licence = licence_of(metadata_dirs.get(normalize_name(name), ""), sha, filename)
        index = str(package.index or PYPI)
        qualifiers = {} if index.rstrip("/") == PYPI else {"repository_url": index}
        if filename:
            qualifiers["file_name"] = filename
        packages.append(
            Package(
                "pypi",
                name,
                version,
                _purl("pypi", normalize_name(name), version, qualifiers),
                {"sha256": sha} if sha else {},
                licence,
                url,
            )
        )
    return packages


def _locked_file(package: Any) -> tuple[str, str | None, str | None]:
    """sha256, URL and file name of what the image installs for a pylock package."""
    if package.wheels:
        wheel = package.wheels[0]
        return (wheel.hashes or {}).get("sha256", ""), wheel.url, wheel.filename
    built = (package.tool or {}).get("envcapsule") or {}
    if built.get("wheel"):
        return str(built.get("sha256", "")), None, str(built["wheel"]).rsplit("/", 1)[-1]
    for source in (package.sdist, package.archive):
        if source is not None:
            return (source.hashes or {}).get("sha256", ""), getattr(source, "url", None), getattr(source, "filename", None)
    return "", None, None


def licence_of(metadata_dir: str, sha256: str, filename: str | None) -> str | None:
    """The licence a distribution's metadata declares: from its installed dist-info here, else from the cached wheel."""
    text = None
    installed = Path(metadata_dir, "METADATA") if metadata_dir else None
    if installed is not None and installed.is_file():
        text = installed.read_text(encoding="utf-8", errors="replace")
    elif sha256 and filename and filename.endswith(".whl"):
        wheel = cache_root() / "wheels" / sha256[:2] / sha256 / filename
        text = _wheel_metadata(wheel)
    return licence_from_metadata(text) if text else None


def _wheel_metadata(wheel: Path) -> str | None:
    if not wheel.is_file():
        return None
    try:
        with zipfile.ZipFile(wheel) as archive:
            name = next((n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
            return archive.read(name).decode("utf-8", errors="replace") if name else None
    except (OSError, zipfile.BadZipFile):
        return None


def licence_from_metadata(text: str) -> str | None:
    """License-Expression (PEP 639), else a one-line License field, else the licence classifiers' names."""
    headers = HeaderParser().parsestr(text, headersonly=True)
    expression = (headers.get("License-Expression") or "").strip()
    if expression:
        return expression
    field = (headers.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= 100 and field.upper() not in ("UNKNOWN", "NONE"):
        return field
    classifiers = [c.split("::")[-1].strip() for c in headers.get_all("Classifier") or [] if c.startswith("License ::")]
    named = [c for c in classifiers if c not in ("OSI Approved", "Other/Proprietary License")]
    return " AND ".join(named) if named else None


def conda_packages(facts: Mapping[str, Any]) -> list[Package]:
    packages = []
    for record in facts.get("conda_records", []) or []:
        channel = _channel_name(record.get("channel"))
        filename = record.get("fn") or str(record.get("url") or "").rsplit("/", 1)[-1]
        qualifiers = {
            "build": record.get("build"),
            "channel": channel,
            "subdir": record.get("subdir"),
            "type": "conda" if filename.endswith(".conda") else "tar.bz2" if filename else None,
        }
        hashes = {alg: record[alg] for alg in ("sha256", "md5") if record.get(alg)}
        packages.append(
            Package(
                "conda",
                record["name"],
                record["version"],
                _purl("conda", record["name"], record["version"], qualifiers),
                hashes,
                url=record.get("url"),
            )
        )
    return packages


def _channel_name(channel: str | None) -> str | None:
    if not channel:
        return None
    parts = urlsplit(channel)
    path = parts.path.strip("/") if parts.scheme else channel
    segments = path.split("/")
    # A private channel's URL carries its token as /t/<token>/: the channel is what follows it.
    return "/".join(segments[2:]) if len(segments) > 2 and segments[0] == "t" else path


def system_packages(capsule: Capsule) -> list[Package]:
    """``[[system.packages]]`` of capsule.toml, and apt.txt's names where capsule.toml lists none."""
    platform = capsule.manifest.get("platform", {})
    distro = platform.get("distro_id") or "debian"
    distro_qualifier = f"{distro}-{platform['distro_version']}" if platform.get("distro_version") else None
    records = list((capsule.manifest.get("system") or {}).get("packages") or [])
    if not records and (capsule.folder / "apt.txt").is_file():
        lines = (capsule.folder / "apt.txt").read_text(encoding="utf-8").splitlines()
        records = [{"name": line.strip()} for line in lines if line.strip() and not line.startswith("#")]
    packages = []
    for record in records:
        version = str(record.get("version") or "")
        qualifiers = {"arch": record.get("architecture"), "distro": distro_qualifier}
        packages.append(
            Package("deb", record["name"], version, _purl("deb", record["name"], version or None, qualifiers, distro), {})
        )
    return packages


def base_image(capsule: Capsule, build: Mapping[str, Any] | None = None) -> Package | None:
    """The base image the capsule was last built on (``build``, else build.json), by RepoDigest when it was pulled, else by image ID."""
    build = _read_json(capsule.folder / "build.json") if build is None else build
    name = build.get("base_image")
    digest = build.get("base_image_digest") or build.get("base_image_id")
    if not name or not digest:
        return None
    reference = str(build.get("base_image_digest") or name)
    repository = reference.split("@", 1)[0]
    tag = None
    if "@" not in str(name) and ":" in str(name).rsplit("/", 1)[-1]:
        repository, tag = str(name).rsplit(":", 1)
    short = repository.rsplit("/", 1)[-1]
    digest = str(digest).rsplit("@", 1)[-1]
    qualifiers = {"repository_url": repository if "/" in repository else None, "tag": tag}
    return Package("oci", short, digest, _purl("oci", short, digest, qualifiers), {"sha256": digest.removeprefix("sha256:")})


def server_packages(capsule: Capsule, locked: Sequence[tuple[str, str]] | None = None) -> list[Package] | None:
    """The server environment's wheels (file name, sha256): ``locked``, else the capsule's server.pylock.toml,
    else the host's lock the last build used or would use; None when none is known."""
    record = locked if locked is not None else _capsule_server_lock(capsule)
    record = record if record is not None else [(f, s) for f, s, _ in server_lock_record(capsule) or ()] or None
    if record is None:
        return None
    packages = []
    for filename, sha in record:
        name, version = _wheel_name_version(filename)
        licence = licence_of("", sha, filename)
        purl = _purl("pypi", normalize_name(name), version, {"file_name": filename})
        packages.append(Package("pypi", name, version, purl, {"sha256": sha}, licence))
    return packages


def _capsule_server_lock(capsule: Capsule) -> list[tuple[str, str]] | None:
    from envcapsule.image.server_lockfile import SERVER_LOCK_FILE, read_server_lockfile

    path = capsule.folder / SERVER_LOCK_FILE
    if not path.is_file():
        return None
    files, _python, _machine = read_server_lockfile(path)
    return [(f.filename, f.sha256) for f in sorted(files, key=lambda f: f.filename)]


def server_lock_record(capsule: Capsule) -> list[tuple[str, str, str]] | None:
    import hashlib

    from envcapsule.image.server_env import host_record

    folder = cache_root() / "server-env"
    wanted = _read_json(capsule.folder / "build.json").get("server_lock_sha256")
    interpreter, machine = capsule.manifest["interpreter"], capsule.manifest["platform"]["machine"]
    current = host_record(folder, "".join(str(interpreter["version"]).split(".")[:2]), machine)
    candidates = sorted(folder.glob("*.txt")) if wanted and folder.is_dir() else [current]
    for path in candidates:
        if not path.is_file():
            continue
        lines = [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]
        record = [(f, s, z) for f, s, z in lines]
        if not wanted:
            return record
        requirements = "".join(
            f"{_wheel_name_version(f)[0]}=={_wheel_name_version(f)[1]} --hash=sha256:{s}\n" for f, s, _ in record
        )
        if hashlib.sha256(requirements.encode()).hexdigest() == wanted:
            return record
    return None


def _wheel_name_version(filename: str) -> tuple[str, str]:
    from packaging.utils import parse_wheel_filename

    name, version, _, _ = parse_wheel_filename(filename)
    return str(name), str(version)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _purl(kind: str, name: str, version: str | None, qualifiers: Mapping[str, Any], namespace: str | None = None) -> str:
    from packageurl import PackageURL

    kept = {k: str(v) for k, v in qualifiers.items() if v}
    return str(PackageURL(type=kind, namespace=namespace, name=name, version=version or None, qualifiers=kept or None))


# --- the CycloneDX document -----------------------------------------------------------------------


@dataclass(frozen=True)
class Contents:
    """What an SBOM of the capsule lists, whatever its format."""

    kernel: Sequence[Package]
    base: Package | None
    server: Sequence[Package] | None

    @property
    def counts(self) -> dict[str, int]:
        return {
            "pypi": sum(p.kind == "pypi" for p in self.kernel),
            "conda": sum(p.kind == "conda" for p in self.kernel),
            "deb": sum(p.kind == "deb" for p in self.kernel),
            "oci": int(self.base is not None),
            "server": len(self.server or ()),
        }


def capsule_contents(
    capsule: Capsule, build: Mapping[str, Any] | None = None, server: Sequence[tuple[str, str]] | None = None
) -> Contents:
    """``build`` and ``server`` describe a build under way; else build.json and the capsule's locks say."""
    facts = capsule.facts() if (capsule.folder / "facts.json").is_file() else {}
    kernel = [*python_packages(capsule, facts), *conda_packages(facts), *system_packages(capsule)]
    return Contents(kernel, base_image(capsule, build), server_packages(capsule, server))


def capsule_stem(capsule: Capsule) -> str:
    return Path(capsule.notebooks[0]).stem if capsule.notebooks else capsule.folder.stem


def capsule_bom(
    capsule: Capsule, build: Mapping[str, Any] | None = None, server: Sequence[tuple[str, str]] | None = None
) -> tuple[Bom, dict[str, int]]:
    """The CycloneDX document of ``capsule``; ``build`` and ``server`` as for :func:`capsule_contents`."""
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import ToolRepository

    contents = capsule_contents(capsule, build, server)
    kernel, base, server_environment = contents.kernel, contents.base, contents.server

    stem = capsule_stem(capsule)
    root = Component(
        name=stem,
        version=capsule.capsule_hash[:12],
        type=ComponentType.APPLICATION,
        bom_ref=f"capsule:{capsule.capsule_hash}",
        description=f"The envcapsule capsule of {stem}: its kernel environment, server environment and base image",
        properties=_properties({"envcapsule:capsule-hash": capsule.capsule_hash}),
    )
    components = [_component(p, "kernel") for p in kernel]
    if base is not None:
        components.append(_component(base, "base-image", ComponentType.CONTAINER))
    if server_environment is not None:
        components.append(
            Component(
                name="envcapsule-server-environment",
                type=ComponentType.APPLICATION,
                bom_ref=SERVER_GROUP,
                description="JupyterLab, Notebook, jupyterhub-singleuser and the verify tooling, installed apart from the kernel",
                components=[_component(p, SERVER_GROUP) for p in server_environment],
                properties=_properties({"envcapsule:environment": SERVER_GROUP}),
            )
        )
    tool = Component(name="envcapsule", version=__version__, type=ComponentType.APPLICATION, bom_ref="tool:envcapsule")
    bom = Bom(
        components=components,
        metadata=BomMetaData(component=root, tools=ToolRepository(components=[tool]), timestamp=created_time(capsule)),
    )
    bom.register_dependency(root, components)
    return bom, contents.counts


def _component(package: Package, environment: str, kind: Any = None) -> Component:
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    try:
        from cyclonedx.contrib.license.factories import LicenseFactory
    except ImportError:  # older cyclonedx-python-lib releases have it only here
        from cyclonedx.factory.license import LicenseFactory  # type: ignore[no-redef]

    algorithms = {"sha256": HashAlgorithm.SHA_256, "md5": HashAlgorithm.MD5}
    properties = {"envcapsule:environment": environment}
    # A property, not an external reference: the schema's IRI check costs a fifth of a second per URL.
    if (
        package.url and urlsplit(package.url).scheme in ("http", "https") and "${" not in package.url
    ):  # never a credential reference
        properties["envcapsule:download-url"] = package.url
    return Component(
        name=package.name,
        version=package.version or None,
        type=kind or ComponentType.LIBRARY,
        purl=PackageURL.from_string(package.purl),
        bom_ref=f"{environment}:{package.purl}",
        hashes=[HashType(alg=algorithms[alg], content=value) for alg, value in package.hashes.items()],
        licenses=[LicenseFactory().make_from_string(package.licence)] if package.licence else None,
        properties=_properties(properties),
    )


def _properties(values: Mapping[str, str]) -> list[Any]:
    from cyclonedx.model import Property

    return [Property(name=name, value=value) for name, value in values.items()]


def created_time(capsule: Capsule) -> datetime:
    created = str(capsule.manifest.get("created") or "")
    try:
        return datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(timezone.utc)


def render_bom(bom: Bom) -> str:
    """The document as CycloneDX 1.6 JSON, validated by the library's JSON validator; one sentence when it does not validate."""
    from cyclonedx.output.json import JsonV1Dot6
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    # The same capsule and records give the same serial number, so an unchanged SBOM is byte-identical.
    bom.serial_number = uuid.UUID(int=0)
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, "envcapsule:sbom:" + text)
    text = JsonV1Dot6(bom).output_as_string(indent=2) + "\n"
    problem = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if problem is not None:
        raise SbomError(
            f"The SBOM does not validate as CycloneDX 1.6, so it was not written (cyclonedx-python-lib: {_first_line(problem)})",
            "report this with the capsule's pylock.toml and facts.json",
        )
    return text


def _first_line(problem: Any) -> str:
    data = getattr(problem, "data", None)
    message = getattr(data, "message", None) or str(problem)
    where = "/".join(str(part) for part in getattr(data, "absolute_path", ()) or ())
    first = message.strip().splitlines()[0] if message.strip() else type(problem).__name__
    return f"{first} at {where}" if where else first


def build_sbom(capsule: Capsule, build: Mapping[str, Any], server: Sequence[tuple[str, str]] | None) -> str:
    """The validated SBOM of the image a build is making: its base (``build``: base_image, base_image_digest, base_image_id)
    and server wheels known before the image exists, so the image can carry it and the capsule's copy is the same file."""
    bom, _counts = capsule_bom(capsule, build, server)
    return render_bom(bom)


def write_sbom(folder: Path, text: str) -> None:
    """``text`` as the capsule's sbom.cdx.json (unchanged bytes are not rewritten)."""
    _write(folder / SBOM_FILE, text)


def make_sbom(folder: Path, *, output: Path | None = None, format: str = "cyclonedx-json") -> SbomResult:  # noqa: A002
    """Write ``folder``'s sbom.cdx.json (when the folder is writable) and ``output`` (when given).

    The capsule keeps its CycloneDX SBOM whatever ``format`` asks; ``output`` and the result's document are in ``format``.
    """
    if format not in FORMATS:
        raise UsageError(f"the SBOM is written as {' or '.join(FORMATS)}, not {format!r}", "pass --format cyclonedx-json")
    capsule = read_capsule(folder)
    bom, counts = capsule_bom(capsule)
    text = render_bom(bom)
    if format == "spdx-json":
        from envcapsule.sbom_spdx import spdx_document

        document = spdx_document(capsule, capsule_contents(capsule))  # validated before anything is written
    else:
        document = text
    path: Path | None = folder / SBOM_FILE
    if os.access(folder, os.W_OK):
        _write(folder / SBOM_FILE, text)
    else:
        path = None
    if output is not None:
        _write(output, document)
    return SbomResult(capsule=folder, path=path, output=output, document=document, counts=counts, format=format)


def _write(path: Path, text: str) -> None:
    existing = path.read_text(encoding="utf-8") if path.is_file() else None
    if existing != text:
        with atomic_writer(path, "w", encoding="utf-8") as stream:
            stream.write(text)


def sbom_components(document: str | Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    """Every component of a CycloneDX document, nested ones included (the server environment's wheels)."""
    data = json.loads(document) if isinstance(document, str) else document
    stack: list[Mapping[str, Any]] = list(data.get("components", []))
    while stack:
        component = stack.pop(0)
        yield component
        stack.extend(component.get("components", []))


def environment_of(component: Mapping[str, Any]) -> str | None:
    return next((p["value"] for p in component.get("properties", []) if p.get("name") == "envcapsule:environment"), None)


__all__: Sequence[str] = ["FORMATS", "SBOM_FILE", "SbomResult", "make_sbom", "sbom_components"]
