"""requirements.txt with ``==`` pins and ``--hash=sha256:`` on every line, for pip and repo2docker."""

from __future__ import annotations

from collections.abc import Sequence

from envcapsule.facts import PipConfig
from envcapsule.lock.entries import LockEntry
from envcapsule.lock.redact import redact_url


def render_requirements(entries: Sequence[LockEntry], pip_config: PipConfig, header: str) -> str:
    """Install with ``pip install --no-deps --require-hashes -r requirements.txt`` from the capsule folder."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += _index_options(entries, pip_config)
    for entry in entries:
        requirement = _requirement(entry)
        if requirement is None:
            lines.append(f"# not locked: {entry.name}=={entry.version}: {entry.warning}")
            continue
        lines.append(f"{requirement} \\\n    --hash=sha256:{entry.sha256}")
    return "\n".join(lines) + "\n"


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
