"""Which files beside a notebook travel with its capsule.

Without a live kernel: the files git tracks when the notebook's folder is in a git
repository, else every file in the folder; minus noise (hidden files, ``__pycache__``,
checkpoints, virtual environments, capsules), ``.envcapsuleignore`` and ``--exclude``; plus
``--include``. A live kernel names them itself: the local modules it imported and the files
it opened. Past the size budget the largest files are left out, each named.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from envcapsule.errors import NotebookFilesError
from envcapsule.notebook_files.patterns import PatternSet, ignore_file_lines

DEFAULT_MAX_BYTES = 100 * 1000 * 1000
NOISE_FOLDERS = frozenset({".git", "__pycache__", ".ipynb_checkpoints", "node_modules", ".hg", ".svn"})
NOISE_SUFFIXES = (".pyc", ".pyo", ".capsule")


@dataclass(frozen=True)
class LeftOut:
    path: str
    reason: str
    size: int | None = None

    def sentence(self) -> str:
        return f"{self.path} was left out: {self.reason}"


@dataclass(frozen=True)
class Selection:
    """Relative POSIX paths of the files that travel, the ones left out, and how they were chosen."""

    paths: tuple[str, ...]
    sizes: tuple[int, ...]
    left_out: tuple[LeftOut, ...]
    source: str  # "git", "folder", "kernel" or "include"

    @property
    def total(self) -> int:
        return sum(self.sizes)


def select_files(
    folder: Path,
    *,
    notebook: Path | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    kernel_files: Iterable[Path] | None = None,
    skip: Iterable[Path] = (),
) -> Selection:
    """The notebook's files under ``folder``; ``skip`` names folders never to enter (the capsule being written)."""
    folder = folder.absolute()
    real = folder.resolve()
    refused = real == Path(real.anchor) or real == Path.home().resolve()
    if refused and kernel_files is None and not include:
        where = "the root folder" if real == Path(real.anchor) else "your home folder"
        raise NotebookFilesError(
            f"The notebook's folder {folder} is {where}, which envcapsule does not sweep for the notebook's files",
            "name the files it needs with {option:include} (for example --include 'data/*.csv'), or move the notebook into a folder of its own",
        )
    skipped = {p.absolute() for p in skip}
    included, excluded = PatternSet(include), PatternSet(exclude)
    ignored = PatternSet(ignore_file_lines(folder))
    left_out: list[LeftOut] = []

    if kernel_files is not None:
        source, default = "kernel", _under(folder, kernel_files)
    elif refused:
        source, default = "include", []
    else:
        tracked = git_tracked(folder)
        source = "git" if tracked is not None else "folder"
        candidates = tracked if tracked is not None else list(walk(folder, skipped))
        default = [p for p in candidates if not is_noise(p) and not ignored.matches(p)]
    chosen = dict.fromkeys(default)
    if included:
        chosen.update(dict.fromkeys(p for p in walk(folder, skipped, hidden=True) if included.matches(p)))
    notebook_name = notebook.absolute().relative_to(folder).as_posix() if notebook is not None else None

    paths: list[str] = []
    sizes: list[int] = []
    for path in chosen:
        if path == notebook_name or excluded.matches(path) or _inside(folder / path, skipped):
            continue
        size = _checked_size(folder, path, real, left_out)
        if size is not None:
            paths.append(path)
            sizes.append(size)
    return _within_budget(paths, sizes, left_out, max_bytes, source)


def _within_budget(paths: list[str], sizes: list[int], left_out: list[LeftOut], max_bytes: int, source: str) -> Selection:
    """Leave out the largest files until the rest fit ``max_bytes``."""
    total = sum(sizes)
    dropped: set[str] = set()
    for size, path in sorted(zip(sizes, paths), reverse=True):
        if total <= max_bytes:
            break
        total -= size
        dropped.add(path)
        reason = f"its {format_size(size)} would take the notebook's files past the {format_size(max_bytes)} budget"
        left_out.append(LeftOut(path, reason, size))
    kept = [(p, s) for p, s in zip(paths, sizes) if p not in dropped]
    kept.sort()
    return Selection(tuple(p for p, _ in kept), tuple(s for _, s in kept), tuple(left_out), source)


def _checked_size(folder: Path, path: str, real_folder: Path, left_out: list[LeftOut]) -> int | None:
    """The size of a regular file inside the folder; a symlink out of it is named, not followed."""
    full = folder / path
    try:
        target = full.resolve()
        if target != real_folder and real_folder not in target.parents:
            left_out.append(LeftOut(path, f"it is a symlink to {target}, outside the notebook's folder, so it was not followed"))
            return None
        info = full.stat()
    except FileNotFoundError:
        return None  # tracked by git but deleted, or gone since the walk
    except OSError as error:
        raise NotebookFilesError(
            f"{full} cannot be read ({error.strerror})", f"make it readable, or leave it out with --exclude {path}"
        ) from None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _under(folder: Path, files: Iterable[Path]) -> list[str]:
    relative = []
    roots = (folder, folder.resolve())
    for file in files:
        full = Path(file).absolute()
        path = next((full.relative_to(root).as_posix() for root in roots if root in full.parents), None)
        if path is None:
            continue
        if Path(file).is_file() and not is_noise(path):
            relative.append(path)
    return sorted(set(relative))


def _inside(path: Path, folders: set[Path]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def is_noise(path: str) -> bool:
    """Hidden files, caches, checkpoints, virtual environments' and capsules' contents."""
    parts = path.split("/")
    if any(part.startswith(".") or part in NOISE_FOLDERS for part in parts):
        return True
    return path.endswith(NOISE_SUFFIXES[:2]) or any(part.endswith(".capsule") for part in parts[:-1])


def _is_environment_or_capsule(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in ("pyvenv.cfg", "conda-meta", "capsule.toml"))


def walk(folder: Path, skip: set[Path] = frozenset(), hidden: bool = False) -> Iterator[str]:  # type: ignore[assignment]
    """Relative POSIX paths of the files under ``folder``, never entering noise folders or symlinked folders."""
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in NOISE_FOLDERS
            and (hidden or not d.startswith("."))
            and not (d.startswith(".") and d.endswith((".partial", ".old")))
            and not (base / d).is_symlink()
            and (base / d).absolute() not in skip
            and not _is_environment_or_capsule(base / d)
        )
        relative = base.relative_to(folder)
        for name in sorted(files):
            if hidden or not name.startswith("."):
                yield (relative / name).as_posix()


def git_tracked(folder: Path) -> list[str] | None:
    """The files git tracks under ``folder`` (relative to it), or None outside a git repository or without git."""
    from envcapsule.share.gitrepo import SAFE_OPTIONS

    try:
        result = subprocess.run(
            ["git", *SAFE_OPTIONS, "-C", str(folder), "ls-files", "-z", "--cached", "--", "."],
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return [p for p in result.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3}
_UNITS.update({"kib": 1024, "mib": 1024**2, "gib": 1024**3, "t": 1000**4, "tb": 1000**4})


def parse_size(text: str) -> int:
    """``100MB``, ``1.5G``, ``500k`` or a number of bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a size (such as 100MB, 1.5GB or 500k)")
    return int(float(match.group(1)) * _UNITS[unit])


def format_size(size: int) -> str:
    for unit, factor in (("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"
