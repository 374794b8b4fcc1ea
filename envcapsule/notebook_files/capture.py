"""The notebook's files at snapshot time: chosen, hashed into the host cache, linked into the capsule."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envcapsule.notebook_files.selection import DEFAULT_MAX_BYTES, LeftOut, Selection, format_size, select_files
from envcapsule.notebook_files.store import FILES_FOLDER, FileStore, NotebookFile, default_store, files_hash

_SOURCES = {
    "git": "the files git tracks in the notebook's folder",
    "folder": "the files in the notebook's folder",
    "kernel": "the local modules the kernel imported and the files it opened",
    "include": "the files named with --include",
}


@dataclass(frozen=True)
class FileRules:
    """How the files were chosen, kept in capsule.toml so that diff and status choose them the same way."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_manifest(cls, manifest: Any) -> FileRules:
        section = manifest.get("files_selection") or {}
        return cls(
            tuple(str(p) for p in section.get("include", [])),
            tuple(str(p) for p in section.get("exclude", [])),
            int(section.get("max_bytes", DEFAULT_MAX_BYTES)),
        )


@dataclass(frozen=True)
class CapturedFiles:
    files: tuple[NotebookFile, ...]
    left_out: tuple[LeftOut, ...]
    source: str
    rules: FileRules = field(default_factory=FileRules)

    @property
    def total(self) -> int:
        return sum(f.size for f in self.files)

    def describe(self) -> str:
        """``3 files (12.4 MB): the files git tracks in the notebook's folder``."""
        count = f"{len(self.files)} file{'' if len(self.files) == 1 else 's'} ({format_size(self.total)})"
        return f"{count}: {_SOURCES.get(self.source, self.source)}"

    def manifest_section(self) -> dict[str, Any]:
        section: dict[str, Any] = {
            "files_selection": {
                "source": self.source,
                "include": list(self.rules.include),
                "exclude": list(self.rules.exclude),
                "max_bytes": self.rules.max_bytes,
                "left_out": [{"path": item.path, "reason": item.reason} for item in self.left_out],
            },
            "files": [f.to_record() for f in self.files],
        }
        if self.files:
            section["files_hash"] = files_hash(self.files)
        return section

    def warnings(self) -> list[dict[str, str]]:
        """One warning per file left out for its own reason, and one naming every file left out for the budget."""
        warnings = [{"file": item.path, "message": item.sentence()} for item in self.left_out if item.size is None]
        over = [item for item in self.left_out if item.size is not None]
        if over:
            needed = f"{math.ceil((self.total + sum(item.size or 0 for item in over)) / 1e6)}MB"
            named = ", ".join(f"{item.path} ({format_size(item.size or 0)})" for item in over)
            message = (
                f"{len(over)} file(s) beside the notebook were left out, past the {format_size(self.rules.max_bytes)} "
                f"budget for its files: {named}; pass --max-files-size {needed} to carry them."
            )
            warnings.append({"file": over[0].path, "message": message})
        return warnings


def choose_files(
    notebook: Path,
    *,
    capsule_dir: Path,
    rules: FileRules,
    kernel_files: Iterable[Path] | None = None,
) -> Selection:
    """The files beside ``notebook`` that travel (refusing a home or root folder before any other work)."""
    return select_files(
        notebook.parent,
        notebook=notebook,
        include=rules.include,
        exclude=rules.exclude,
        max_bytes=rules.max_bytes,
        kernel_files=kernel_files,
        skip=(capsule_dir,),
    )


def store_files(
    folder: Path, selection: Selection, capsule_staging: Path, rules: FileRules, store: FileStore | None = None
) -> CapturedFiles:
    """Hash each chosen file into the host cache and link it under the capsule's ``files/``."""
    store = store or default_store()
    files = tuple(store.add(folder / path, path) for path in selection.paths)
    store.place(files, capsule_staging / FILES_FOLDER)
    return CapturedFiles(files, selection.left_out, selection.source, rules)


def kernel_rules(include: Sequence[str] | None, exclude: Sequence[str] | None, max_bytes: int | None) -> FileRules:
    return FileRules(tuple(include or ()), tuple(exclude or ()), DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
