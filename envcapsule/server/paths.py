"""Notebook paths from the browser, confined to the server's root folder.

JupyterLab names files relative to the contents root (``folder/analysis.ipynb``). A path
that is absolute, climbs with ``..``, or resolves through a symlink to somewhere outside
the root is refused; so is a capsule folder that is a symlink leading out of the root,
since snapshot and build write there.

Lengths are checked first (the whole path, then each name, against the usual PATH_MAX and
NAME_MAX), so the work done for any path is bounded and linear in its length.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from envcapsule.paths import default_capsule_dir

MAX_PATH_CHARS = 4096  # PATH_MAX on Linux
MAX_NAME_BYTES = 255  # NAME_MAX: one file or folder name, in bytes


class PathRefused(Exception):
    """A path the server will not touch; ``status`` is the HTTP status, ``str()`` the sentence."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status


@dataclass(frozen=True)
class Notebook:
    relative: str  # as the browser names it, normalised: "folder/analysis.ipynb"
    path: Path  # absolute, inside the root (symlinks inside the root are kept as they are)

    @property
    def capsule_key(self) -> str:
        """What identifies the notebook's capsule: at most one job per capsule runs at a time."""
        return str(default_capsule_dir(self.path))


def confined_notebook(root_dir: str | os.PathLike[str], relative: object) -> Notebook:
    """The notebook named by ``relative`` under ``root_dir``, or PathRefused (400, 403 or 404)."""
    if not isinstance(relative, str) or not relative.strip():
        raise PathRefused(400, "No notebook path was given; pass the notebook's path relative to the server's root folder.")
    if len(relative) > MAX_PATH_CHARS:
        raise PathRefused(
            400,
            f"The notebook path is longer than {MAX_PATH_CHARS} characters; pass the notebook's path relative to the root folder.",
        )
    if "\x00" in relative:
        raise PathRefused(
            400, "The notebook path contains a NUL character; pass a plain path relative to the server's root folder."
        )
    if any(len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for name in relative.replace("\\", "/").split("/")):
        raise PathRefused(
            400,
            f"A name in the notebook path is longer than {MAX_NAME_BYTES} bytes, which no file system allows; check the path.",
        )
    posix = PurePosixPath(relative.replace("\\", "/"))
    if posix.is_absolute() or PureWindowsPath(relative).drive:
        raise PathRefused(403, f"{relative} is an absolute path; pass the notebook's path relative to the server's root folder.")
    if ".." in posix.parts:
        raise PathRefused(403, f"{relative} climbs out with '..'; pass a path inside the server's root folder.")
    parts = [part for part in posix.parts if part not in ("", ".")]
    if not parts:
        raise PathRefused(400, "The notebook path names the root folder itself; pass the path of an .ipynb file.")
    try:
        return _confined(Path(root_dir).expanduser().resolve(), relative, parts)
    except OSError as error:
        raise PathRefused(
            400, f"The notebook path {relative} cannot be looked up ({error.strerror or error}); check the path."
        ) from None


def _confined(root: Path, relative: str, parts: list[str]) -> Notebook:
    path = root.joinpath(*parts)
    if not _inside(root, path):
        raise PathRefused(
            403, f"{relative} leads outside the server's root folder (through a symlink); open a notebook inside it."
        )
    if not path.is_file():
        raise PathRefused(
            404, f"The notebook {relative} does not exist in the server's root folder; check the path or save it first."
        )
    capsule = default_capsule_dir(path)
    if (capsule.exists() or capsule.is_symlink()) and not _inside(root, capsule):
        raise PathRefused(
            403, f"The capsule folder {capsule.name} is a symlink leading outside the server's root folder; remove it."
        )
    return Notebook("/".join(parts), path)


def _inside(root: Path, path: Path) -> bool:
    return path.resolve().is_relative_to(root)
