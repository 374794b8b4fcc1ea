"""Conda platforms, channels and the ``${VAR}`` credential references in channel URLs."""

from __future__ import annotations

import os
from collections.abc import Mapping

from envcapsule.errors import CapsuleError
from envcapsule.facts import CondaRecord, EnvironmentFacts
from envcapsule.lock.redact import fill_variables

_PLATFORMS = {
    ("linux", "x86_64"): "linux-64",
    ("linux", "amd64"): "linux-64",
    ("linux", "aarch64"): "linux-aarch64",
    ("linux", "arm64"): "linux-aarch64",
    ("linux", "ppc64le"): "linux-ppc64le",
    ("darwin", "x86_64"): "osx-64",
    ("darwin", "arm64"): "osx-arm64",
    ("windows", "amd64"): "win-64",
    ("windows", "x86_64"): "win-64",
}
IMAGE_PLATFORMS = {"amd64": "linux-64", "arm64": "linux-aarch64", "ppc64le": "linux-ppc64le"}


def conda_platform(facts: EnvironmentFacts) -> str:
    """The conda subdir the environment was installed for: its records say, else the host does."""
    subdirs = sorted({r.subdir for r in facts.conda_records if r.subdir and r.subdir != "noarch"})
    if len(subdirs) == 1:
        return subdirs[0]
    machine = facts.platform.machine.lower()
    return _PLATFORMS.get((facts.platform.os, machine), f"{facts.platform.os}-{machine}")


def channel_url(record: CondaRecord) -> str | None:
    """The channel a record came from, as a URL without the subdir: ``https://conda.anaconda.org/conda-forge``."""
    if record.url and record.subdir and f"/{record.subdir}/" in record.url:
        return record.url.rsplit(f"/{record.subdir}/", 1)[0]
    if record.channel:
        channel = record.channel.rstrip("/")
        return channel.rsplit("/", 1)[0] if record.subdir and channel.endswith("/" + record.subdir) else channel
    return None


def channels_of(records: tuple[CondaRecord, ...] | list[CondaRecord]) -> list[str]:
    """Every channel the records came from, the most used first (a stand-in for channel priority)."""
    counts: dict[str, int] = {}
    for record in records:
        channel = channel_url(record)
        if channel:
            counts[channel] = counts.get(channel, 0) + 1
    return sorted(counts, key=lambda channel: (-counts[channel], channel))


def expand_url(url: str, environ: Mapping[str, str] | None = None) -> str:
    """``url`` with its ``${VAR}`` references filled from the environment: for fetching only, never for writing."""
    environ = os.environ if environ is None else environ
    filled, missing = fill_variables(url, environ)
    if missing:
        raise CapsuleError(
            f"{url.rsplit('/', 1)[-1]} comes from a conda channel that needs the credential in ${missing[0]}; "
            f"set {missing[0]} in this shell (the channel token) and build again."
        )
    return filled
