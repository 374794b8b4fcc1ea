"""snapshot(): notebook -> kernel interpreter -> facts -> locked entries -> capsule folder."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from envcapsule._version import __version__
from envcapsule.capsule import (
    FACTS,
    MANIFEST,
    SCHEMA_VERSION,
    capsule_hash,
    render_manifest,
    staged_capsule,
)
from envcapsule.capture import find_kernel_python, probe_interpreter, read_notebook
from envcapsule.capture.footprint import tooling_distributions
from envcapsule.errors import EnvcapsuleError, LockError
from envcapsule.facts import Distribution, EnvironmentFacts
from envcapsule.lock.entries import LockEntry
from envcapsule.lock.pipconfig import lookup_config
from envcapsule.lock.targets import TargetLock
from envcapsule.notebook_files.capture import CapturedFiles, choose_files, kernel_rules, store_files
from envcapsule.paths import cache_root, default_capsule_dir
from envcapsule.progress import NullProgress, Progress
from envcapsule.system.capture import APT_FILE, PYTHON_MODES, HostSystem, SystemCapture, capture_system, carried_path, host_system


@dataclass(frozen=True)
class SnapshotResult:
    capsule: Path
    capsule_hash: str
    notebook: Path | None
    python: Path
    entries: tuple[LockEntry, ...]
    excluded_tooling: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())
    used: tuple[str, ...] = ()  # distributions the live kernel imported, when known
    conda_packages: int = 0  # conda records locked in conda-lock.yml (conda environments only)
    notebook_files: CapturedFiles | None = None  # the files beside the notebook that travel with it
    system: SystemCapture | None = None  # the system packages the environment needs (native libraries, distro Python)
    targets: tuple[TargetLock, ...] = ()  # what each target platform installs, and how it differs from the capture

    @property
    def locked(self) -> int:
        return sum(1 for e in self.entries if e.is_locked)

    def to_json(self) -> dict[str, Any]:
        return {
            "capsule": str(self.capsule),
            "capsule_hash": self.capsule_hash,
            "notebook": str(self.notebook) if self.notebook else None,
            "python": str(self.python),
            "distributions": len(self.entries),
            "locked": self.locked,
            "unresolved": [{"name": e.name, "version": e.version, "reason": e.reason} for e in self.entries if not e.is_locked],
            "excluded_tooling": list(self.excluded_tooling),
            "warnings": list(self.warnings),
            "used": list(self.used),
            "conda_packages": self.conda_packages,
            "notebook_files": _files_json(self.notebook_files),
            "system": _system_json(self.system),
            "targets": [t.to_json() for t in self.targets],
            "files": {e.name: {"version": e.version, "kind": e.kind, "url": e.url, "sha256": e.sha256} for e in self.entries},
        }


def _files_json(captured: CapturedFiles | None) -> dict[str, Any] | None:
    if captured is None:
        return None
    return {
        "source": captured.source,
        "count": len(captured.files),
        "bytes": captured.total,
        "files_hash": captured.manifest_section().get("files_hash"),
        "paths": [f.path for f in captured.files],
        "left_out": [{"path": item.path, "reason": item.reason} for item in captured.left_out],
    }


def _system_json(system: SystemCapture | None) -> dict[str, Any] | None:
    if system is None:
        return None
    return {
        "manager": system.manager,
        "packages": [p.to_record() for p in system.packages],
        "python_packages": system.python_mode,
        "python_distributions": list(system.python_distributions),
        "left_out": list(system.left_out),
        "unowned": [{"library": lib.soname, "path": lib.path} for lib in system.unowned],
        "notes": list(system.notes),
    }


def _used(facts: EnvironmentFacts) -> set[str]:
    from envcapsule.capture.live import used_distributions

    return used_distributions(facts) if facts.imported_modules else set()


def snapshot(
    notebook: Path | None,
    *,
    python: Path | str | None = None,
    out: Path | None = None,
    strict: bool = False,
    offline: bool = False,
    include_tooling: bool = False,
    minimal: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_files_size: int | None = None,
    kernel_files: Sequence[Path] | None = None,
    facts: EnvironmentFacts | None = None,
    system_python_packages: str = "system",
    facts_file: Path | str | None = None,
    platforms: Sequence[str] | str | None = None,
    progress: Progress | None = None,
) -> SnapshotResult:
    """Capture the notebook's kernel environment and the files beside it into a capsule folder (written atomically).

    ``kernel_files`` (from a live kernel: the local modules it imported, the files it opened)
    replace the sweep of the notebook's folder; ``include`` and ``exclude`` adjust either.
    ``facts_file`` (``envcapsule inspect --json`` on another machine) replaces the probe and the
    interpreter; ``platforms`` are the Linux platforms the image is built for (default both).
    """
    from envcapsule.platforms import DEFAULT_TARGETS, parse_platforms

    targets = parse_platforms(platforms if platforms is not None else DEFAULT_TARGETS)
    if facts_file is not None:
        from envcapsule.factsfile import read_facts_file

        facts = read_facts_file(facts_file)
        if facts.system is None:  # only the machine the facts describe could say what its system provides
            from dataclasses import replace

            facts = replace(facts, system=HostSystem(None).to_dict())
    progress = progress or NullProgress()
    if notebook is not None:
        notebook = Path(notebook).absolute()
        read_notebook(notebook)
    if out is None:
        if notebook is None:
            raise EnvcapsuleError("Without a notebook there is no default capsule folder; pass --out DIR.")
        out = default_capsule_dir(notebook)
    out = Path(out).absolute()
    rules = kernel_rules(include, exclude, max_files_size)
    selection = None
    if notebook is not None:
        progress.step("Choosing the notebook's files")
        selection = choose_files(notebook, capsule_dir=out, rules=rules, kernel_files=kernel_files)

    if facts_file is not None and facts is not None:
        interpreter = Path(facts.interpreter.executable)  # on the machine the facts describe: nothing here runs it
    else:
        progress.step("Finding the kernel's interpreter")
        interpreter = find_kernel_python(notebook, python)
    if facts is None:
        progress.step(f"Probing {interpreter}")
        facts = probe_interpreter(interpreter)

    if system_python_packages not in PYTHON_MODES:
        raise EnvcapsuleError(
            f"{system_python_packages!r} is not a way to carry the system's Python packages; choose one of {', '.join(PYTHON_MODES)}."
        )
    tooling = set() if include_tooling else tooling_distributions(facts)
    progress.step("Finding the system packages the environment needs")
    distributions, system = split_system(facts, notebook, tooling, minimal=minimal, python_mode=system_python_packages)

    with staged_capsule(out) as writer:
        entries = _lock(facts, distributions, writer.vendor_dir, interpreter if facts_file is None else None, offline, progress)
        target_locks = _lock_targets(facts, entries, targets, offline, progress)
        captured = None
        if notebook is not None and selection is not None:
            progress.step(f"Hashing {len(selection.paths)} file(s) beside the notebook")
            captured = store_files(notebook.parent, selection, writer.staging, rules)
        if strict:
            _refuse_strict(entries, captured, system, target_locks)
        progress.step("Writing the capsule")
        manifest = _write_capsule_files(writer, notebook, facts, entries, sorted(tooling), captured, system, target_locks)
        result = SnapshotResult(
            capsule=out,
            capsule_hash=manifest["capsule_hash"],
            notebook=notebook,
            python=interpreter,
            entries=tuple(entries),
            excluded_tooling=tuple(sorted(tooling)),
            warnings=tuple(w["message"] for w in manifest.get("warnings", [])),
            used=tuple(sorted(_used(facts))),
            conda_packages=int((manifest.get("conda") or {}).get("packages", 0)),
            notebook_files=captured,
            system=system,
            targets=tuple(target_locks),
        )
    return result


def _refuse_strict(
    entries: Sequence[LockEntry],
    captured: CapturedFiles | None,
    system: SystemCapture | None = None,
    targets: Sequence[TargetLock] = (),
) -> None:
    """--strict: everything the image would lack or hold differently, in one sentence."""
    problems = [e.reason or e.name for e in entries if not e.is_locked]
    problems += [p for target in targets for p in target.strict_problems]
    problems += [e.warning or e.name for e in entries if e.is_locked and e.strict_problem]
    problems += [item.sentence() for item in (captured.left_out if captured else ())]
    problems += list(system.warnings if system else ())
    if problems:
        listed = " ".join(p if p.endswith(".") else p + "." for p in problems)
        raise LockError(
            f"{len(problems)} thing(s) could not be locked exactly or cannot travel with the notebook: {listed}",
            "fix them, or run without --strict to record them as warnings",
        )


def split_system(
    facts: EnvironmentFacts, notebook: Path | None, tooling: set[str], *, minimal: bool = False, python_mode: str = "system"
) -> tuple[list[Distribution], SystemCapture]:
    """The distributions pip locks, and the system packages: what the environment needs from the operating system.

    In a conda environment conda's own packages go to conda-lock.yml; pip locks the rest. The
    distribution's own Python packages (dist-packages) are system packages, never relocked as
    PyPI sdists, unless ``python_mode`` is ``pypi``.
    """
    host = facts_system(facts)
    distributions = [d for d in facts.pip_distributions if d.name not in tooling and d.name not in host.owned]
    if minimal:
        keep = minimal_closure(facts)
        distributions = [d for d in distributions if d.name in keep]
    reached = reached_distributions(facts, distributions, notebook)
    system = capture_system(facts, host, distributions, reached, python_mode=python_mode)
    if python_mode == "pypi":
        distributions += [d for d in facts.pip_distributions if d.name in system.python_distributions]
    return distributions, system


def facts_system(facts: EnvironmentFacts) -> HostSystem:
    """What the environment needs from the operating system: from the facts when they carry it, else asked of this host."""
    from envcapsule.system.elf import ElfCache, host_resolver
    from envcapsule.system.owners import OwnerCache

    if facts.system is not None:
        return HostSystem.from_dict(facts.system)
    known = ElfCache(cache_root() / "elf-dynamic.json")
    owners = OwnerCache(cache_root() / "dpkg-owners.json")
    host = host_system(facts, resolver=host_resolver(facts.environment, known), loaded=_kernel_maps(facts), cache=owners)
    known.save()
    return host


def _kernel_maps(facts: EnvironmentFacts) -> list[str]:
    """In a live kernel (the magic), the shared objects this very process has mapped; elsewhere none."""
    from envcapsule.system.elf import mapped_libraries

    if not facts.imported_modules or os.path.realpath(sys.executable) != os.path.realpath(facts.interpreter.executable):
        return []
    try:
        return mapped_libraries(Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return []


def reached_distributions(facts: EnvironmentFacts, locked: Sequence[Any], notebook: Path | None) -> set[str]:
    """What the notebook and the locked distributions need: their requirement closure over the whole environment.

    The roots are the locked distributions, those the notebook's code cells import, and those
    a live kernel imported.
    """
    from envcapsule.capture.footprint import closure, requirements_of
    from envcapsule.capture.imports import notebook_imports

    modules = set(facts.imported_modules)
    if notebook is not None:
        modules |= notebook_imports(read_notebook(notebook))
    providers = {d.name for d in facts.distributions if set(d.top_level) & modules}
    return closure({d.name for d in locked} | providers, requirements_of(facts))


def minimal_closure(facts: EnvironmentFacts) -> set[str]:
    """The distributions the kernel imported, plus everything they require in this environment."""
    from envcapsule.capture.footprint import closure, requirements_of
    from envcapsule.capture.live import used_distributions

    if not facts.imported_modules:
        raise EnvcapsuleError("--minimal needs a live kernel that has imported the notebook's modules; use it from %envcapsule.")
    return closure(used_distributions(facts), requirements_of(facts))


def _lock(
    facts: EnvironmentFacts,
    distributions: Sequence[Any],
    vendor_dir: Path,
    interpreter: Path | None,
    offline: bool,
    progress: Progress,
) -> list[LockEntry]:
    from envcapsule.lock.resolve import ResolutionCache, resolve_distributions
    from envcapsule.lock.vendor import wheel_builder

    config = lookup_config(facts.pip_config)
    locations = [*facts.pip_config.index_urls, *facts.pip_config.find_links]

    def lock_on(
        index_urls: Sequence[str], find_links: Sequence[str], where: Sequence[str], dists: Sequence[Any]
    ) -> list[LockEntry]:
        with index_client(config, index_urls, find_links, offline) as client:
            return resolve_distributions(
                dists,
                client,
                locations=where,
                vendor_dir=vendor_dir,
                build_wheel=wheel_builder(interpreter) if interpreter is not None else _elsewhere,
                cache=ResolutionCache(cache_root() / "resolved"),
                progress=progress,
                image_glibc=_glibc(facts),
            )

    entries = lock_on(config.index_urls, config.find_links, locations, distributions)
    # Builds such as torch 2.5.1+cu124 live only on PyTorch's own index: look there for what the configured ones lack.
    found: dict[str, LockEntry] = {}
    for index, dists in framework_index_misses(entries, config.index_urls).items():
        found.update((e.name, e) for e in lock_on([index], [], [index], dists) if e.is_locked)
    return [found.get(entry.name, entry) for entry in entries]


def index_client(config: Any, index_urls: Sequence[str], find_links: Sequence[str], offline: bool) -> Any:
    """A look-up client on these indexes, with pip's certificate settings and the on-disk cache every snapshot shares."""
    from envcapsule.lock.index import IndexClient

    return IndexClient(
        index_urls,
        find_links,
        cache_dir=cache_root() / "index",
        cert=config.cert,
        trusted_hosts=config.trusted_hosts,
        offline=offline,
    )


def _elsewhere(spec: str, folder: Path) -> Path:
    """The wheel builder of a snapshot from a facts file: the interpreter is on the machine the facts describe."""
    raise RuntimeError("the facts came from another machine, so only that machine can build it; snapshot there")


def _lock_targets(
    facts: EnvironmentFacts, entries: Sequence[LockEntry], platforms: Sequence[str], offline: bool, progress: Progress
) -> list[TargetLock]:
    """Each target platform's files, from the same indexes as the capture's (look-ups cached on disk)."""
    from envcapsule.lock.targets import lock_targets
    from envcapsule.platforms import Target, target_glibc

    config = lookup_config(facts.pip_config)
    glibc = target_glibc({"os": facts.platform.os, "libc": facts.platform.libc, "libc_version": facts.platform.libc_version})
    targets = [Target(p, facts.interpreter.version, facts.interpreter.implementation, glibc) for p in platforms]
    # A framework build found on its own index (PyTorch's) has its other platforms' files there too.
    framework = [
        i for i in dict.fromkeys(e.index for e in entries if e.index) if i not in config.index_urls and not i.startswith("file:")
    ]
    with index_client(config, [*config.index_urls, *(i for i in framework if i)], config.find_links, offline) as client:
        return lock_targets(
            facts,
            entries,
            targets,
            lookup=client.many_project_files,
            config=config,
            offline=offline,
            progress=progress,
            cache_dir=cache_root() / "targets",
        )


def _glibc(facts: EnvironmentFacts) -> tuple[int, int] | None:
    """The glibc the image will have, taken as the captured one (the default base matches the captured distribution)."""
    try:
        major, minor = (facts.platform.libc_version or "").split(".")[:2]
        return (int(major), int(minor)) if facts.platform.libc == "glibc" else None
    except ValueError:
        return None


def framework_index_misses(entries: Sequence[LockEntry], configured: Sequence[str]) -> dict[str, list[Any]]:
    """Unresolved index distributions with a PyTorch local version, by the PyTorch index that serves them."""
    from envcapsule.cuda import torch_index_url

    misses: dict[str, list[Any]] = {}
    for entry in entries:
        index = torch_index_url(entry.version) if entry.kind == "unresolved" else None
        if index and index not in configured and entry.distribution.source_kind == "index":
            misses.setdefault(index, []).append(entry.distribution)
    return misses


def _write_capsule_files(
    writer: Any,
    notebook: Path | None,
    facts: EnvironmentFacts,
    entries: Sequence[LockEntry],
    tooling: Sequence[str],
    captured: CapturedFiles | None = None,
    system: SystemCapture | None = None,
    targets: Sequence[TargetLock] = (),
) -> dict[str, Any]:
    from envcapsule.cuda import cuda_section
    from envcapsule.lock.pylock import build_pylock, environment_marker, render_pylock
    from envcapsule.lock.requirements import render_requirements

    source = notebook.name if notebook else str(facts.interpreter.executable)
    pylock_sha = writer.write_text("pylock.toml", render_pylock(build_pylock(facts, entries, targets=targets)))
    header = (
        f"Locked by envcapsule {__version__} from the kernel environment of {source}.\n"
        "Install from this folder: pip install --no-deps --require-hashes -r requirements.txt"
    )
    requirements_sha = writer.write_text(
        "requirements.txt", render_requirements(entries, facts.pip_config, header, targets, environment_marker(facts))
    )
    writer.write_text(FACTS, json.dumps(facts.to_dict(), indent=1, sort_keys=True) + "\n")

    notebooks = []
    if notebook is not None:
        notebooks.append({"path": notebook.name, "sha256": writer.copy_file(notebook, notebook.name)})
    vendor = [{"path": e.vendored_path, "sha256": e.sha256} for e in entries if e.vendored_path and e.sha256]
    vendor += [{"path": e.built.path, "sha256": e.built.sha256} for e in entries if e.built]
    for library in system.carried if system is not None else ():
        relative = carried_path(str(library.path))
        vendor.append({"path": relative, "sha256": writer.copy_file(Path(str(library.path)), relative)})
    manifest: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "envcapsule_version": __version__,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "notebooks": notebooks,
        "interpreter": {
            "implementation": facts.interpreter.implementation,
            "version": facts.interpreter.version,
            "abi_tag": facts.interpreter.abi_tag,
            "environment_kind": facts.interpreter.environment_kind,
        },
        "platform": {
            "os": facts.platform.os,
            "machine": facts.platform.machine,
            "distro_id": facts.platform.distro_id,
            "distro_version": facts.platform.distro_version,
            "distro_codename": facts.platform.distro_codename,
            "libc": facts.platform.libc,
            "libc_version": facts.platform.libc_version,
        },
        "target": _target_section(targets),
        "cuda": cuda_section(facts) or None,
        "lockfiles": [
            {"path": "pylock.toml", "format": "pylock", "sha256": pylock_sha},
            {"path": "requirements.txt", "format": "requirements", "sha256": requirements_sha},
        ],
        "vendor": vendor,
        "environment": dict(sorted(facts.environment.items())),
        "excluded": {"tooling": list(tooling)},
        "warnings": [{"package": e.name, "message": e.warning} for e in entries if e.warning],
    }
    manifest["warnings"] += [{"platform": t.platform, "message": w} for t in targets for w in t.warnings()]
    if facts.is_conda:
        from envcapsule.conda.capsule_files import write_conda_files

        conda = write_conda_files(writer, facts, entries, source)
        manifest["lockfiles"] += list(conda.lockfiles)
        manifest["conda"] = conda.section
        manifest["warnings"] += list(conda.warnings)
    if captured is not None:
        manifest.update(captured.manifest_section())
        manifest["warnings"] += captured.warnings()
    if system is not None:
        manifest["warnings"] += [{"package": "system", "message": message} for message in system.warnings]
        section = system.section()
        if section is not None:
            manifest["system"] = section
            apt = system.apt_txt()
            if apt is not None:
                manifest["lockfiles"].append({"path": APT_FILE, "format": "apt", "sha256": writer.write_text(APT_FILE, apt)})
    manifest["capsule_hash"] = capsule_hash(manifest)
    writer.write_text(MANIFEST, render_manifest(manifest))
    return manifest


def _target_section(targets: Sequence[TargetLock]) -> dict[str, Any]:
    """``[target]``: the platforms the image is built for, the glibc their wheels were chosen for, and those that failed."""
    section: dict[str, Any] = {"platforms": [t.platform for t in targets]}
    if targets:
        section["glibc"] = ".".join(map(str, targets[0].target.glibc))
    failed = [t.platform for t in targets if t.error]
    if failed:
        section["unlocked"] = failed
    return section


def ensure_capsule(
    target: Path, *, python: str | Path | None = None, facts: EnvironmentFacts | None = None, progress: Progress | None = None
) -> Path:
    """A capsule folder from a notebook or a capsule path; a notebook without one is snapshotted first."""
    from envcapsule.errors import CapsuleError

    target = Path(target).absolute()
    if target.is_dir():
        if not (target / MANIFEST).is_file():
            raise CapsuleError(f"{target} is not a capsule (no {MANIFEST}); pass a notebook or a capsule folder.")
        return target
    capsule = default_capsule_dir(target)
    if not (capsule / MANIFEST).is_file():
        snapshot(target, python=python, facts=facts, progress=progress)
    return capsule
