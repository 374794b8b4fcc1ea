"""Drift: how the live kernel environment differs from what its capsule captured."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from envcapsule.capsule import Capsule, read_capsule
from envcapsule.capture.footprint import tooling_distributions
from envcapsule.facts import CondaRecord, Distribution, EnvironmentFacts

if TYPE_CHECKING:
    from envcapsule.notebook_files.changes import FileChange

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class PackageChange:
    name: str
    kind: ChangeKind
    old: str | None = None
    new: str | None = None

    def describe(self) -> str:
        if self.kind == "added":
            return f"{self.name} {self.new} was added"
        if self.kind == "removed":
            return f"{self.name} {self.old} was removed"
        return f"{self.name} {self.old} → {self.new}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Drift:
    packages: tuple[PackageChange, ...]
    interpreter: tuple[str, ...] = ()
    platform: tuple[str, ...] = ()
    conda: tuple[PackageChange, ...] = ()  # conda packages (conda-meta records) added, removed or changed
    files: tuple[FileChange, ...] = ()  # the notebook's files added, removed or changed beside it
    system: tuple[PackageChange, ...] = ()  # system packages (dpkg/rpm) the environment needs, added, removed or changed

    @property
    def identical(self) -> bool:
        return not (self.packages or self.interpreter or self.platform or self.conda or self.files or self.system)

    def lines(self) -> list[str]:
        conda = (f"conda package {change.describe()}" for change in self.conda)
        system = (f"system package {change.describe()}" for change in self.system)
        files = (change.describe() for change in self.files)
        return [*self.interpreter, *self.platform, *system, *conda, *(change.describe() for change in self.packages), *files]

    def summary(self) -> str:
        """``62 added, 2 changed, interpreter CPython 3.11.2 → CPython 3.11.7``: the drift in one line."""
        if self.identical:
            return "identical"
        counts: dict[str, int] = {}
        for change in (*self.packages, *self.conda, *self.system):
            counts[change.kind] = counts.get(change.kind, 0) + 1
        parts = [f"{counts[kind]} {kind}" for kind in ("added", "changed", "removed") if counts.get(kind)]
        if self.files:
            parts.append(f"{len(self.files)} file{'' if len(self.files) == 1 else 's'} changed beside the notebook")
        return ", ".join([*parts, *self.interpreter, *self.platform])

    def to_json(self) -> dict[str, Any]:
        drift = {
            "identical": self.identical,
            "packages": {change.name: change.to_json() for change in self.packages},
            "interpreter": list(self.interpreter),
            "platform": list(self.platform),
        }
        if self.conda:
            drift["conda"] = {change.name: change.to_json() for change in self.conda}
        if self.files:
            drift["files"] = {change.path: change.to_json() for change in self.files}
        if self.system:
            drift["system"] = {change.name: change.to_json() for change in self.system}
        return drift


def compare(captured: EnvironmentFacts, live: EnvironmentFacts, ignore: Iterable[str] = ()) -> Drift:
    """Packages added, removed and changed (version or source), and interpreter and platform changes.

    In a conda environment the conda packages are compared as conda records, and the
    distributions they own are left to that comparison.
    """
    skipped = set(ignore)
    before = {d.name: d for d in captured.distributions if d.name not in skipped and not d.conda}
    after = {d.name: d for d in live.distributions if d.name not in skipped and not d.conda}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None and new is not None:
            changes.append(PackageChange(name, "added", new=new.version))
        elif new is None and old is not None:
            changes.append(PackageChange(name, "removed", old=old.version))
        elif old is not None and new is not None and _fingerprint(old) != _fingerprint(new):
            changes.append(PackageChange(name, "changed", old=_label(old, new), new=_label(new, old)))
    conda = _conda_changes(captured.conda_records, live.conda_records)
    return Drift(tuple(changes), _interpreter_changes(captured, live), _platform_changes(captured, live), conda)


def _conda_changes(captured: Iterable[CondaRecord], live: Iterable[CondaRecord]) -> tuple[PackageChange, ...]:
    before, after = {r.name: r for r in captured}, {r.name: r for r in live}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None and new is not None:
            changes.append(PackageChange(name, "added", new=_conda_label(new)))
        elif new is None and old is not None:
            changes.append(PackageChange(name, "removed", old=_conda_label(old)))
        elif old is not None and new is not None and _conda_fingerprint(old) != _conda_fingerprint(new):
            same_build = (old.version, old.build) == (new.version, new.build)
            changes.append(PackageChange(name, "changed", old=_conda_label(old, same_build), new=_conda_label(new, same_build)))
    return tuple(changes)


def _conda_fingerprint(record: CondaRecord) -> tuple[Any, ...]:
    from envcapsule.conda.channels import channel_url

    return (record.version, record.build, channel_url(record), record.md5 or record.sha256)


def _conda_label(record: CondaRecord, with_channel: bool = False) -> str:
    """``1.26.4 (py311h...)``, with the channel added when only the channel or the file differs."""
    from envcapsule.conda.channels import channel_url

    label = f"{record.version} ({record.build})"
    return f"{label} from {channel_url(record) or 'an unknown channel'}" if with_channel else label


def _fingerprint(dist: Distribution) -> tuple[Any, ...]:
    direct = dist.direct_url or {}
    commit = (direct.get("vcs_info") or {}).get("commit_id")
    return (dist.version, dist.source_kind, commit, tuple(sorted(dist.wheel_tags)))


def _label(dist: Distribution, other: Distribution) -> str:
    """The version, with the source added when only the source differs."""
    if dist.version != other.version:
        return dist.version
    commit = ((dist.direct_url or {}).get("vcs_info") or {}).get("commit_id")
    detail = f"{dist.source_kind} {commit[:12]}" if commit else dist.source_kind
    return f"{dist.version} ({detail}, {' '.join(dist.wheel_tags[:1]) or 'no tags'})"


def _interpreter_changes(captured: EnvironmentFacts, live: EnvironmentFacts) -> tuple[str, ...]:
    a, b = captured.interpreter, live.interpreter
    changes = []
    if (a.implementation, a.version) != (b.implementation, b.version):
        changes.append(f"interpreter {a.implementation} {a.version} → {b.implementation} {b.version}")
    elif a.abi_tag != b.abi_tag:
        changes.append(f"ABI {a.abi_tag} → {b.abi_tag}")
    return tuple(changes)


def _platform_changes(captured: EnvironmentFacts, live: EnvironmentFacts) -> tuple[str, ...]:
    a, b = captured.platform, live.platform
    changes = []
    for field, label in (
        ("os", "OS"),
        ("machine", "machine"),
        ("distro_id", "distribution"),
        ("distro_version", "distribution version"),
        ("libc_version", "libc"),
    ):
        old, new = getattr(a, field), getattr(b, field)
        if old != new:
            changes.append(f"{label} {old} → {new}")
    return tuple(changes)


def diff(
    notebook: Path,
    *,
    python: str | Path | None = None,
    capsule_dir: Path | None = None,
    live: EnvironmentFacts | None = None,
    kernel_files: Iterable[Path] | None = None,
) -> Drift:
    """Compare a notebook's live kernel environment and the files beside it with its capsule."""
    from envcapsule.capture import find_kernel_python, probe_interpreter
    from envcapsule.paths import default_capsule_dir

    notebook = Path(notebook).absolute()
    capsule = read_capsule(capsule_dir or default_capsule_dir(notebook))
    if live is None:
        live = probe_interpreter(find_kernel_python(notebook, python))
    return capsule_drift(capsule, live, folder=notebook.parent, kernel_files=kernel_files)


def capsule_drift(
    capsule: Capsule, live: EnvironmentFacts, *, folder: Path | None = None, kernel_files: Iterable[Path] | None = None
) -> Drift:
    """Compare live facts, and the files in the notebook's ``folder`` (default: the capsule's), with a capsule already read."""
    from dataclasses import replace

    from envcapsule.notebook_files.changes import file_changes

    captured = EnvironmentFacts.from_probe(capsule.facts())
    excluded = set(capsule.manifest.get("excluded", {}).get("tooling", []))
    # envcapsule's own footprint is never drift: it was left out at capture and is left out now.
    ignore = excluded | (tooling_distributions(live) if excluded or not captured.distribution("envcapsule") else set())
    files = file_changes(capsule, folder or capsule.folder.parent, kernel_files)
    system = system_changes(capsule, live, ignore, folder or capsule.folder.parent)
    return replace(compare(captured, live, ignore), files=files, system=system)


def system_changes(capsule: Capsule, live: EnvironmentFacts, tooling: set[str], folder: Path) -> tuple[PackageChange, ...]:
    """The system packages a snapshot now would record, against the capsule's ``[[system.packages]]``."""
    from envcapsule.snapshot import split_system
    from envcapsule.system.capture import system_packages

    section = capsule.manifest.get("system") or {}
    before = {str(p["name"]): str(p.get("version", "")) for p in system_packages(capsule.manifest)}
    if not before and live.platform.os != "linux":
        return ()
    notebook = folder / capsule.notebooks[0] if capsule.notebooks and (folder / capsule.notebooks[0]).is_file() else None
    _, now = split_system(live, notebook, tooling, python_mode=str(section.get("python_packages") or "system"))
    after = {p.name: p.version for p in now.packages}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None:
            changes.append(PackageChange(name, "added", new=new))
        elif new is None:
            changes.append(PackageChange(name, "removed", old=old))
        elif old != new:
            changes.append(PackageChange(name, "changed", old=old, new=new))
    return tuple(changes)
