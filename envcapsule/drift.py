"""Drift: how the live kernel environment differs from what its capsule captured."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from envcapsule.capsule import read_capsule
from envcapsule.capture.footprint import tooling_distributions
from envcapsule.facts import Distribution, EnvironmentFacts

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

    @property
    def identical(self) -> bool:
        return not (self.packages or self.interpreter or self.platform)

    def lines(self) -> list[str]:
        return [*self.interpreter, *self.platform, *(change.describe() for change in self.packages)]

    def to_json(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "packages": {change.name: change.to_json() for change in self.packages},
            "interpreter": list(self.interpreter),
            "platform": list(self.platform),
        }


def compare(captured: EnvironmentFacts, live: EnvironmentFacts, ignore: Iterable[str] = ()) -> Drift:
    """Packages added, removed and changed (version or source), and interpreter and platform changes."""
    skipped = set(ignore)
    before = {d.name: d for d in captured.distributions if d.name not in skipped}
    after = {d.name: d for d in live.distributions if d.name not in skipped}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old is None and new is not None:
            changes.append(PackageChange(name, "added", new=new.version))
        elif new is None and old is not None:
            changes.append(PackageChange(name, "removed", old=old.version))
        elif old is not None and new is not None and _fingerprint(old) != _fingerprint(new):
            changes.append(PackageChange(name, "changed", old=_label(old, new), new=_label(new, old)))
    return Drift(tuple(changes), _interpreter_changes(captured, live), _platform_changes(captured, live))


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
    for field, label in (("os", "OS"), ("machine", "machine"), ("distro_id", "distribution"), ("distro_version", "distribution version"), ("libc_version", "libc")):
        old, new = getattr(a, field), getattr(b, field)
        if old != new:
            changes.append(f"{label} {old} → {new}")
    return tuple(changes)


def diff(notebook: Path, *, python: str | Path | None = None, capsule_dir: Path | None = None, live: EnvironmentFacts | None = None) -> Drift:
    """Compare a notebook's live kernel environment with its capsule."""
    from envcapsule.capture import find_kernel_python, probe_interpreter
    from envcapsule.snapshot import default_capsule_dir

    notebook = Path(notebook).absolute()
    capsule = read_capsule(capsule_dir or default_capsule_dir(notebook))
    captured = EnvironmentFacts.from_probe(capsule.facts())
    if live is None:
        live = probe_interpreter(find_kernel_python(notebook, python))
    excluded = set(capsule.manifest.get("excluded", {}).get("tooling", []))
    # envcapsule's own footprint is never drift: it was left out at capture and is left out now.
    ignore = excluded | (tooling_distributions(live) if excluded or not captured.distribution("envcapsule") else set())
    return compare(captured, live, ignore)
