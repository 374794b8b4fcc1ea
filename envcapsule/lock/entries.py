"""What each installed distribution is locked to: one LockEntry per distribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from envcapsule.facts import Distribution
from envcapsule.lock.redact import redact_text

SourceKind = Literal["wheel", "sdist", "vcs", "vendored", "archive", "unresolved"]


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel built on this machine from the locked sdist, carried in the capsule's ``vendor/``."""

    path: str  # relative to the capsule
    sha256: str
    size: int


@dataclass(frozen=True)
class LockEntry:
    """One distribution and the exact file (or commit) it is locked to.

    ``kind`` says which fields are set:
    wheel / sdist: ``url``, ``sha256``, ``size``, ``index`` — a file found on an index;
    vcs: ``url`` (no credentials), ``commit``, ``vcs``, plus ``vendored_path`` when a wheel was built from it;
    vendored: ``vendored_path`` (relative to the capsule), ``sha256``, ``size`` — a wheel built from a local directory;
    archive: ``url``, ``sha256`` — a direct archive URL;
    unresolved: ``reason`` — recorded with a warning, absent from the lockfiles.
    """

    distribution: Distribution
    kind: SourceKind
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    index: str | None = None
    upload_time: str | None = None
    vcs: str | None = None
    commit: str | None = None
    requested_revision: str | None = None
    subdirectory: str | None = None
    vendored_path: str | None = None
    reason: str | None = None
    note: str | None = None
    # Locked, but not as a user of --strict would accept: a file copied from this machine, a source that did not build.
    strict_problem: bool = False
    built: BuiltWheel | None = None  # sdist entries: the wheel built from it at the snapshot

    @property
    def name(self) -> str:
        return self.distribution.name

    @property
    def version(self) -> str:
        return self.distribution.version

    @property
    def filename(self) -> str | None:
        if self.vendored_path:
            return self.vendored_path.rsplit("/", 1)[-1]
        if self.url:  # the file's name, not its URL spelling: torch-2.5.1%2Bcu124-… is torch-2.5.1+cu124-…
            return unquote(self.url.rsplit("/", 1)[-1].split("#", 1)[0].split("?", 1)[0])
        return None

    @property
    def is_locked(self) -> bool:
        return self.kind != "unresolved"

    @property
    def warning(self) -> str | None:
        """The sentence to record in capsule.toml, if this entry deserves one; any URL in it redacted."""
        sentence = self.reason if self.kind == "unresolved" else self.note
        return redact_text(sentence) if sentence else None
