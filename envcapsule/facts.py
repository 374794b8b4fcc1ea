"""EnvironmentFacts: what the probe saw, as typed, immutable data.

The probe prints plain JSON so that it can run under any interpreter; this module
turns that JSON into frozen dataclasses and back, so every later step (locking,
writing the capsule, diffing) works on one well-typed value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_NAME_SEPARATORS = re.compile(r"[-_.]+")


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: ``Typing_Extensions`` -> ``typing-extensions``."""
    return _NAME_SEPARATORS.sub("-", name).lower()


@dataclass(frozen=True)
class Interpreter:
    implementation: str
    version: str
    abi_tag: str
    executable: str
    prefix: str
    base_prefix: str
    environment_kind: str
    soabi: str | None = None
    conda_prefix: str | None = None

    @property
    def minor_version(self) -> str:
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class Platform:
    os: str
    system: str
    machine: str
    release: str = ""
    distro_id: str | None = None
    distro_version: str | None = None
    distro_codename: str | None = None
    distro_name: str | None = None
    libc: str | None = None
    libc_version: str | None = None


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    display_name: str = ""
    installer: str | None = None
    requested: bool = False
    wheel_tags: tuple[str, ...] = ()
    direct_url: Mapping[str, Any] | None = None
    location: str = ""
    metadata_dir: str = ""
    top_level: tuple[str, ...] = ()
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    conda: bool = False  # installed by conda: its metadata files are listed in a conda-meta record

    @property
    def is_editable(self) -> bool:
        dir_info = (self.direct_url or {}).get("dir_info") or {}
        return bool(dir_info.get("editable"))

    @property
    def source_kind(self) -> str:
        """Where the installed files came from: index, vcs, directory or archive (PEP 610)."""
        if not self.direct_url:
            return "index"
        if "vcs_info" in self.direct_url:
            return "vcs"
        if "dir_info" in self.direct_url:
            return "directory"
        return "archive"


@dataclass(frozen=True)
class CondaRecord:
    """One ``conda-meta/*.json`` record: a conda package as installed (URLs carry no credentials)."""

    name: str
    version: str
    build: str
    build_number: int = 0
    channel: str | None = None
    subdir: str | None = None
    url: str | None = None
    fn: str | None = None
    md5: str | None = None
    sha256: str | None = None
    size: int | None = None
    depends: tuple[str, ...] = ()
    constrains: tuple[str, ...] = ()
    noarch: str | None = None
    timestamp: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.version} ({self.build})"


@dataclass(frozen=True)
class PipConfig:
    index_url: str = "https://pypi.org/simple"
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    cert: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    config_files: tuple[str, ...] = ()

    @property
    def index_urls(self) -> tuple[str, ...]:
        if self.no_index:
            return ()
        return (self.index_url, *self.extra_index_urls)


@dataclass(frozen=True)
class EnvironmentFacts:
    interpreter: Interpreter
    platform: Platform
    distributions: tuple[Distribution, ...]
    pip_config: PipConfig = field(default_factory=PipConfig)
    environment: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    imported_modules: tuple[str, ...] = ()
    cuda: Mapping[str, Any] | None = None  # the probe's raw CUDA section; envcapsule.cuda.CudaFacts reads it
    conda_records: tuple[CondaRecord, ...] = ()  # the conda environment's packages, by name
    system: Mapping[str, Any] | None = None  # what the host said about system packages (envcapsule.system.capture.HostSystem)

    @property
    def is_conda(self) -> bool:
        return bool(self.conda_records)

    @property
    def pip_distributions(self) -> tuple[Distribution, ...]:
        """The distributions no conda record owns: what pip (or another Python installer) put there."""
        return tuple(d for d in self.distributions if not d.conda)

    def distribution(self, name: str) -> Distribution | None:
        wanted = normalize_name(name)
        return next((d for d in self.distributions if d.name == wanted), None)

    def marker_environment(self) -> dict[str, str]:
        """The PEP 508 marker values of the captured interpreter, for evaluating Requires-Dist."""
        impl = self.interpreter.implementation
        return {
            "implementation_name": impl,
            "implementation_version": self.interpreter.version,
            "os_name": "nt" if self.platform.os == "windows" else "posix",
            "platform_machine": self.platform.machine,
            "platform_release": self.platform.release,
            "platform_system": self.platform.system,
            "platform_version": "",
            "python_full_version": self.interpreter.version,
            "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl),
            "python_version": self.interpreter.minor_version,
            "sys_platform": {"windows": "win32"}.get(self.platform.os, self.platform.os),
        }

    @classmethod
    def from_probe(cls, data: Mapping[str, Any]) -> EnvironmentFacts:
        return cls(
            interpreter=_build(Interpreter, data["interpreter"]),
            platform=_build(Platform, data["platform"]),
            distributions=tuple(_build(Distribution, d) for d in sorted(data.get("distributions", ()), key=lambda d: d["name"])),
            pip_config=_build(PipConfig, data.get("pip_config") or {}),
            environment=dict(data.get("environment") or {}),
            problems=tuple(data.get("problems") or ()),
            imported_modules=tuple(data.get("imported_modules") or ()),
            cuda=data.get("cuda") or None,
            conda_records=tuple(
                _build(CondaRecord, r) for r in sorted((data.get("conda") or {}).get("records") or (), key=lambda r: r["name"])
            ),
            system=data.get("system") or None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The probe's JSON form, safe to write: every URL redacted, no environment variable that looks secret.

        The probe already reports them so; this holds for facts that came from anywhere else too.
        """
        from envcapsule.probe import CONDA_TOKEN_VARIABLE, is_secret_name, looks_secret_value, redact_text, redact_url

        pip_config = _plain(self.pip_config)
        pip_config["index_url"] = redact_url(self.pip_config.index_url)
        for key in ("extra_index_urls", "find_links"):
            pip_config[key] = [redact_url(url) for url in pip_config[key]]
        plain: dict[str, Any] = {
            "interpreter": _plain(self.interpreter),
            "platform": _plain(self.platform),
            "distributions": [_plain_distribution(d) for d in self.distributions],
            "pip_config": pip_config,
            "environment": {k: v for k, v in self.environment.items() if not is_secret_name(k) and not looks_secret_value(v)},
            "problems": [redact_text(problem) for problem in self.problems],
            "imported_modules": list(self.imported_modules),
            "cuda": dict(self.cuda) if self.cuda is not None else None,
        }
        if self.system is not None:
            plain["system"] = dict(self.system)
        if self.conda_records:
            records = []
            for record in self.conda_records:
                fields = _plain(record)
                for key in ("url", "channel"):
                    if fields[key]:
                        fields[key] = redact_url(fields[key], default_variable=CONDA_TOKEN_VARIABLE)
                records.append(fields)
            plain["conda"] = {"prefix": self.interpreter.conda_prefix, "records": records}
        return plain


def _build(kind: type[Any], data: Mapping[str, Any]) -> Any:
    """Build a dataclass from a mapping, ignoring keys it does not know (newer probes)."""
    known = kind.__dataclass_fields__
    values = {}
    for key, value in data.items():
        if key in known:
            values[key] = tuple(value) if isinstance(value, list) else value
    return kind(**values)


def _plain_distribution(dist: Distribution) -> dict[str, Any]:
    from envcapsule.probe import redact_url

    fields = _plain(dist)
    direct_url = fields.get("direct_url")
    if direct_url and isinstance(direct_url.get("url"), str):
        is_git = (direct_url.get("vcs_info") or {}).get("vcs") == "git"
        fields["direct_url"] = {**direct_url, "url": redact_url(direct_url["url"], keep_user="git" if is_git else None)}
    return fields


def _plain(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__dataclass_fields__:
        value = getattr(obj, name)
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        out[name] = value
    return out


def tag_strings(tags: Sequence[str]) -> frozenset[str]:
    """Expand WHEEL ``Tag:`` lines (which may themselves be compressed) into a set of single tags."""
    expanded: set[str] = set()
    for tag in tags:
        interpreters, abis, platforms = tag.split("-")
        for i in interpreters.split("."):
            for a in abis.split("."):
                for p in platforms.split("."):
                    expanded.add(f"{i}-{a}-{p}")
    return frozenset(expanded)
