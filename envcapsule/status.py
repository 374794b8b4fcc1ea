"""A notebook's capsule at a glance: none / up to date / drifted, image, containers, last verify."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from envcapsule.atomic import write_json
from envcapsule.errors import EnvcapsuleError
from envcapsule.facts import EnvironmentFacts

VERIFY_RECORD = "verify.json"
State = Literal["none", "up-to-date", "drifted"]


@dataclass(frozen=True)
class CapsuleStatus:
    notebook: str
    state: State
    capsule_hash: str | None = None
    changes: tuple[str, ...] = ()
    summary: str = ""  # the drift in one line: "62 added, 2 changed, interpreter CPython 3.11.2 → CPython 3.11.7"
    image: str | None = None
    image_built: bool | None = None  # None: the engine could not be asked
    containers: tuple[dict[str, Any], ...] = ()
    last_verify: dict[str, Any] | None = None
    engine_error: str | None = None
    python: str | None = None
    packages: int = 0
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "state": self.state,
            "capsule_hash": self.capsule_hash,
            "changes": list(self.changes),
            "summary": self.summary,
            "image": self.image,
            "image_built": self.image_built,
            "containers": list(self.containers),
            "last_verify": self.last_verify,
            "engine_error": self.engine_error,
            "python": self.python,
            "packages": self.packages,
            "warnings": list(self.warnings),
        }


def capsule_status(
    notebook: Path,
    *,
    python: str | Path | None = None,
    live: EnvironmentFacts | None = None,
    client: Any = None,
    engine: bool = True,
) -> CapsuleStatus:
    from envcapsule.capsule import read_capsule
    from envcapsule.drift import capsule_drift
    from envcapsule.paths import default_capsule_dir

    folder = default_capsule_dir(Path(notebook).absolute())
    if not (folder / "capsule.toml").is_file():
        return CapsuleStatus(notebook=Path(notebook).name, state="none")
    capsule = read_capsule(folder)
    if live is None:
        from envcapsule.capture import find_kernel_python, probe_interpreter

        live = probe_interpreter(find_kernel_python(Path(notebook).absolute(), python))
    drift = capsule_drift(capsule, live, folder=Path(notebook).absolute().parent)
    facts = capsule.facts()
    status = CapsuleStatus(
        notebook=Path(notebook).name,
        state="up-to-date" if drift.identical else "drifted",
        capsule_hash=capsule.capsule_hash,
        changes=tuple(drift.lines()),
        summary=drift.summary(),
        last_verify=read_verify(folder),
        python=facts.get("interpreter", {}).get("version"),
        packages=len(facts.get("distributions", [])),
        warnings=tuple(w["message"] for w in capsule.warnings),
    )
    if not engine:
        return status
    return _with_engine(status, capsule, client)


def _with_engine(status: CapsuleStatus, capsule: Any, client: Any) -> CapsuleStatus:
    from dataclasses import replace

    from envcapsule.image.build import image_tag

    tag = image_tag(capsule)
    try:
        if client is None:
            from envcapsule.engine import connect

            client = connect(timeout=3)
        import docker.errors

        try:
            client.images.get(tag)
            built = True
        except docker.errors.ImageNotFound:
            built = False
        from envcapsule.run import list_running

        containers = tuple(item.to_json() for item in list_running(client) if item.image == tag)
    except EnvcapsuleError as error:
        return replace(status, image=tag, engine_error=str(error))
    return replace(status, image=tag, image_built=built, containers=containers)


HISTORY = 20  # verify runs kept in verify.json's history
_SUMMARY = (
    "reproduced",
    "exact_conditions",
    "total",
    "reproduced_cells",
    "differing",
    "errored",
    "skipped",
    "ignored",
    "message",
)
_DIFF_CHARS = 4000  # per cell in the kept report: enough to read, small enough to keep beside the capsule


def record_verify(capsule_dir: Path, report: dict[str, Any]) -> None:
    """Keep the last verify result and its report beside the capsule, and append it to the history (the last 20).

    verify.json does not change the capsule hash. Its top level is the last run's summary, so
    older readers keep working; ``report`` is that run's report with long diffs cut, and
    ``history`` lists every kept run, oldest first: time, image, result, warnings.
    """
    previous = read_verify(capsule_dir) or {}
    history = [entry for entry in previous.get("history", []) if isinstance(entry, dict)]
    warnings = [str(w) for w in report.get("warnings") or []]
    at = report.get("ran_at") or datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    entry = {
        "at": at,
        "image": report.get("image"),
        "status": report.get("status"),
        "reproduced": report.get("reproduced"),
        "exact_conditions": report.get("exact_conditions"),
        "warnings": warnings,
        "message": report.get("message"),
    }
    record = {k: report.get(k) for k in _SUMMARY}
    record.update(at=at, image=report.get("image"), warnings=warnings)
    record["report"] = _kept_report(report)
    record["history"] = [*history, entry][-HISTORY:]
    write_json(capsule_dir / VERIFY_RECORD, record)


def _kept_report(report: dict[str, Any]) -> dict[str, Any]:
    cells = []
    for cell in report.get("cells") or []:
        if isinstance(cell, dict):
            diff = cell.get("diff")
            if isinstance(diff, str) and len(diff) > _DIFF_CHARS:
                cell = {**cell, "diff": diff[:_DIFF_CHARS] + "\n… (cut; run verify again to see it whole)"}
            cells.append(cell)
    return {**report, "cells": cells}


def read_verify(capsule_dir: Path) -> dict[str, Any] | None:
    """The last verify's record (summary, report and history), or None when there is none or it is unreadable."""
    try:
        data = json.loads((capsule_dir / VERIFY_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def last_verify_line(record: dict[str, Any]) -> str:
    """``All 3 checked cells … reproduced (2026-12-01T09:00:00Z; conditions not exact: Python 3.11.2 ≠ 3.11.7)``."""
    notes = [str(record["at"])] if record.get("at") else []
    if record.get("exact_conditions") is False:
        warnings = [str(w) for w in record.get("warnings") or []]
        notes.append("conditions not exact" + (f": {warnings[0]}" if warnings else ""))
    message = str(record.get("message") or "no message")
    return f"{message} ({'; '.join(notes)})" if notes else message
