"""The notebook's files now against those its capsule recorded: added, removed, changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from envcapsule.capsule import Capsule
from envcapsule.errors import EnvcapsuleError
from envcapsule.notebook_files.capture import FileRules
from envcapsule.notebook_files.selection import select_files
from envcapsule.notebook_files.store import hash_file

FileChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class FileChange:
    path: str
    kind: FileChangeKind

    def describe(self) -> str:
        return f"file {self.path} was {self.kind}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind}


def file_changes(capsule: Capsule, folder: Path, kernel_files: Iterable[Path] | None = None) -> tuple[FileChange, ...]:
    """Recorded files that are gone or differ, and files the same rules would now carry that the capsule lacks.

    A capsule made from a live kernel knows no rule for new files: only ``kernel_files`` (that
    kernel's, now) can add to it.
    """
    recorded = {f.path: f for f in capsule.files}
    changes = []
    for path, file in sorted(recorded.items()):
        current = folder / path
        if not current.is_file():
            changes.append(FileChange(path, "removed"))
            continue
        try:
            differs = current.stat().st_size != file.size or hash_file(current)[0] != file.sha256
        except OSError:
            differs = True
        if differs:
            changes.append(FileChange(path, "changed"))
    known = set(recorded) | {item.get("path") for item in (capsule.manifest.get("files_selection") or {}).get("left_out", [])}
    changes += [FileChange(path, "added") for path in _now(capsule, folder, kernel_files) if path not in known]
    return tuple(sorted(changes, key=lambda change: change.path))


def _now(capsule: Capsule, folder: Path, kernel_files: Iterable[Path] | None) -> tuple[str, ...]:
    section = capsule.manifest.get("files_selection") or {}
    if not section or (section.get("source") == "kernel" and kernel_files is None):
        return ()
    rules = FileRules.from_manifest(capsule.manifest)
    notebook = folder / capsule.notebooks[0] if capsule.notebooks else None
    try:
        selection = select_files(
            folder,
            notebook=notebook,
            include=rules.include,
            exclude=rules.exclude,
            max_bytes=1 << 62,  # a file past the budget is still a file the folder gained
            kernel_files=list(kernel_files) if section.get("source") == "kernel" and kernel_files is not None else None,
            skip=(capsule.folder,),
        )
    except EnvcapsuleError:
        return ()
    return selection.paths
