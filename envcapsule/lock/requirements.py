"""requirements.txt with ``==`` pins and ``--hash=sha256:`` on every line, for pip and repo2docker."""

from __future__ import annotations

from collections.abc import Sequence

from envcapsule.facts import PipConfig
from envcapsule.lock.entries import LockEntry
from envcapsule.lock.redact import redact_url
from envcapsule.lock.targets import TargetLock


def render_requirements(
    entries: Sequence[LockEntry],
    pip_config: PipConfig,
    header: str,
    targets: Sequence[TargetLock] = (),
    capture_marker: str = "",
) -> str:
    """Install with ``pip install --no-deps --require-hashes -r requirements.txt`` from the capsule folder.

    With ``targets`` each pinned line also accepts each target's file of its version (pip takes
    any hash listed), a package some target leaves out carries the marker of those that keep it,
    and what only targets need is pinned with their markers, so the same file installs on each.
    """
    from envcapsule.lock.pylock import presence_marker

    resolved = [t for t in targets if not t.exact and t.error is None]
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += _index_options(entries, pip_config)
    for entry in entries:
        requirement = _requirement(entry)
        if requirement is None:
            lines.append(f"# not locked: {entry.name}=={entry.version}: {entry.warning}")
            continue
        hashes = [entry.sha256 or ""]
        if not entry.vendored_path and entry.kind in ("wheel", "sdist"):
            hashes += [t.files[entry.name].sha256 for t in resolved if entry.name in t.files]
        marker = presence_marker(capture_marker, entry.name, resolved) if capture_marker else None
        lines.append(_line(requirement, marker, hashes))
    added: dict[tuple[str, str], list[TargetLock]] = {}
    for target in resolved:
        for name in target.added:
            added.setdefault((name, target.files[name].version), []).append(target)
    for (name, version), where in sorted(added.items()):
        marker = " or ".join(f"({t.target.marker()})" for t in where)
        lines.append(_line(f"{name}=={version}", marker, [t.files[name].sha256 for t in where]))
    return "\n".join(lines) + "\n"


def _line(requirement: str, marker: str | None, hashes: Sequence[str]) -> str:
    pinned = f"{requirement} ; {marker}" if marker else requirement
    return pinned + "".join(f" \\\n    --hash=sha256:{sha}" for sha in dict.fromkeys(hashes))


def _requirement(entry: LockEntry) -> str | None:
    if not entry.sha256:
        return None
    if entry.vendored_path:
        return f"./{entry.vendored_path}"
    if entry.kind in ("wheel", "sdist"):
        return f"{entry.name}=={entry.version}"
    if entry.kind == "archive":
        return f"{entry.name} @ {redact_url(entry.url or '')}"
    return None


def _index_options(entries: Sequence[LockEntry], pip_config: PipConfig) -> list[str]:
    """The index options pip needs to find the locked files: the configured index, then every other index used."""
    used = []
    for entry in entries:
        if entry.index and entry.index not in used and entry.kind in ("wheel", "sdist"):
            used.append(entry.index)
    if not used:
        return []
    options = [f"--index-url {redact_url(pip_config.index_url)}"]
    for location in used:
        if location == pip_config.index_url:
            continue
        flag = "--find-links" if location in pip_config.find_links else "--extra-index-url"
        options.append(f"{flag} {redact_url(location)}")
    return options
