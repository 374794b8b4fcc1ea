"""export_binder(): write a Binder-ready ``binder/`` at the root of the notebook's git repository.

The folder holds the capsule's Dockerfile for a build from the repository root (see
``binder_dockerfile``), the capsule's hashed requirements.txt, the server environment's
hashed requirements, runtime.txt, the kernelspec and entrypoint, and ``envcapsule.json``:
the marker that says envcapsule wrote the folder, with the sha256 of every file in it.
A ``binder/`` or ``.binder/`` without a matching marker is the user's: it is replaced only
with ``force``, and then moved aside as a backup first. The new folder is staged beside
the old one and renamed into place, so a failure leaves the old folder as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from envcapsule._version import __version__
from envcapsule.capsule import Capsule, read_capsule, sha256_bytes
from envcapsule.image.base import default_base_image
from envcapsule.image.dockerfile import ENTRYPOINT_SCRIPT, ImageSpec, kernelspec_json
from envcapsule.progress import NullProgress, Progress
from envcapsule.share import gitrepo
from envcapsule.share.binder_dockerfile import BinderPaths, render_binder_dockerfile
from envcapsule.share.errors import ShareError
from envcapsule.system.capture import system_packages
from envcapsule.system.layer import PTH_FILE, site_dirs

BINDER_DIR = "binder"
HIDDEN_BINDER_DIR = ".binder"
MARKER = "envcapsule.json"
PUBLIC_INDEX = "https://pypi.org/simple"


@dataclass(frozen=True)
class BinderExport:
    folder: Path
    repository: Path | None  # None: the notebook is in no git repository
    notebook: str  # relative to the folder's parent
    capsule_hash: str
    files: list[str]
    backups: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "repository": str(self.repository) if self.repository else None,
            "notebook": self.notebook,
            "capsule_hash": self.capsule_hash,
            "files": self.files,
            "backups": [str(b) for b in self.backups],
            "warnings": self.warnings,
        }


def export_binder(
    notebook: Path,
    *,
    capsule_dir: Path | None = None,
    force: bool = False,
    base_image: str | None = None,
    progress: Progress | None = None,
) -> BinderExport:
    """Write ``binder/`` for ``notebook`` and its capsule (by default ``NOTEBOOK.capsule`` beside it)."""
    from envcapsule.paths import default_capsule_dir

    progress = progress or NullProgress()
    notebook = Path(notebook).absolute()
    capsule = read_capsule(Path(capsule_dir or default_capsule_dir(notebook)).absolute())
    repository = gitrepo.repository_root(notebook)
    root = repository or notebook.parent.resolve()
    notebook_rel = _inside(root, notebook, "notebook")
    capsule_rel = _inside(root, capsule.folder, "capsule")
    warnings = [] if repository else [f"{notebook.name} is not in a git repository; the binder/ folder is written beside it."]

    target, hidden = root / BINDER_DIR, root / HIDDEN_BINDER_DIR
    in_the_way = [folder for folder in (target, hidden) if folder.exists() and not _written_by_envcapsule(folder)]
    if in_the_way and not force:
        raise ShareError(_refusal(in_the_way[0]))

    files = binder_files(capsule, notebook_rel, capsule_rel, base_image, progress)
    warnings += _index_warnings(files["requirements.txt"])
    progress.step(f"Writing {target}")
    backups = _publish(root, files, [f for f in (target, hidden) if f.exists()], in_the_way)
    return BinderExport(target, repository, notebook_rel, capsule.capsule_hash, sorted(files), backups, warnings)


def binder_files(
    capsule: Capsule, notebook_rel: str, capsule_rel: str, base_image: str | None, progress: Progress
) -> dict[str, str]:
    """The binder folder's files, name -> text; the same capsule always gives the same text."""
    python = capsule.manifest["interpreter"]["version"]
    requirements = (capsule.folder / "requirements.txt").read_text(encoding="utf-8")
    vendored = any(line.strip().startswith("./vendor/") for line in requirements.splitlines())
    spec = binder_image_spec(capsule, notebook_rel, base_image or default_base_image(capsule.manifest))
    paths = BinderPaths(BINDER_DIR, notebook_rel, f"{capsule_rel}/vendor" if vendored else None)
    files = {
        "Dockerfile": render_binder_dockerfile(spec, paths),
        "requirements.txt": requirements,
        "server-requirements.txt": server_requirements(capsule, progress),
        "runtime.txt": f"python-{'.'.join(python.split('.')[:2])}\n",
        "kernel.json": kernelspec_json(f"Python {python} (capsule {capsule.capsule_hash[:12]})"),
        "entrypoint": ENTRYPOINT_SCRIPT,
    }
    # apt.txt, the Binder convention: the Dockerfile installs it by name (repo2docker reads it only without a Dockerfile).
    if spec.system_packages:
        files["apt.txt"] = (capsule.folder / "apt.txt").read_text(encoding="utf-8")
    if spec.system_site:
        files[PTH_FILE] = "".join(f"{folder}\n" for folder in site_dirs(capsule))
    marker = {
        "generator": "envcapsule",
        "envcapsule_version": __version__,
        "capsule_hash": capsule.capsule_hash,
        "notebook": notebook_rel,
        "files": {name: sha256_bytes(text.encode()) for name, text in sorted(files.items())},
    }
    files[MARKER] = json.dumps(marker, indent=1, sort_keys=True) + "\n"
    return files


def binder_image_spec(capsule: Capsule, notebook_rel: str, base_image: str) -> ImageSpec:
    lockfiles = {record.path: record.sha256 for record in capsule.lockfiles}
    python = capsule.manifest["interpreter"]["version"]
    labels = {
        "envcapsule.capsule-hash": capsule.capsule_hash,
        "envcapsule.notebook": notebook_rel,
        "envcapsule.capsule-dir": capsule.folder.name,
        "envcapsule.python": python,
        "envcapsule.pylock-sha256": lockfiles.get("pylock.toml", ""),
        "envcapsule.requirements-sha256": lockfiles.get("requirements.txt", ""),
    }
    return ImageSpec(
        base_image=base_image,
        capsule_hash=capsule.capsule_hash,
        notebook=notebook_rel,
        capsule_dir=capsule.folder.name,
        python_version=python,
        created=str(capsule.manifest.get("created", "")),
        environment=dict(capsule.manifest.get("environment", {})),
        labels=labels,
        system_packages="by-name" if (capsule.folder / "apt.txt").is_file() and system_packages(capsule.manifest) else None,
        system_site=bool(site_dirs(capsule)),
    )


def server_requirements(capsule: Capsule, progress: Progress) -> str:
    """The image's server environment (JupyterLab, Notebook, jupyterhub-singleuser), pinned by sha256 like the kernel's:
    the capsule's server.pylock.toml when it fits the capsule's Python, else this host's lock."""
    from envcapsule.image.files import build_target
    from envcapsule.image.server_env import server_lock, server_lock_of
    from envcapsule.image.server_lockfile import SERVER_LOCK_FILE, read_server_lockfile
    from envcapsule.image.wheelcache import WheelCache
    from envcapsule.paths import cache_root

    root = cache_root()
    # Binder builds for linux/amd64, whatever platform the capsule was captured on.
    interpreter, machine = capsule.manifest["interpreter"]["version"], build_target(capsule, "linux/amd64").machine
    files = None
    if (capsule.folder / SERVER_LOCK_FILE).is_file():
        locked, for_python, for_machine = read_server_lockfile(capsule.folder / SERVER_LOCK_FILE)
        if (for_python, for_machine) == (".".join(str(interpreter).split(".")[:2]), machine):
            files = server_lock_of(locked).files
    if files is None:
        files = server_lock(interpreter, machine, WheelCache(root / "wheels"), root / "server-env", progress).files
    header = "# The image's Jupyter server environment, apart from the kernel; written by envcapsule.\n"
    return header + "".join(f"{f.name}=={f.version} \\\n    --hash=sha256:{f.sha256}\n" for f in files)


def _inside(root: Path, path: Path, what: str) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise ShareError(
            f"The {what} {path} is outside {root}, which Binder builds from; move it into the repository and share again."
        ) from None


def _written_by_envcapsule(folder: Path) -> bool:
    """True when the marker is there and every file is exactly as envcapsule wrote it."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        recorded = dict(marker["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if marker.get("generator") != "envcapsule":
        return False
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()} - {MARKER}
    if present != set(recorded):
        return False
    return all(sha256_bytes((folder / name).read_bytes()) == sha for name, sha in recorded.items())


def _refusal(folder: Path) -> str:
    how = "was edited after envcapsule wrote it" if (folder / MARKER).exists() else "was not written by envcapsule"
    return f"{folder} already exists and {how}; pass --force to replace it (it is kept as a backup beside it)."


def _publish(root: Path, files: dict[str, str], existing: list[Path], in_the_way: list[Path]) -> list[Path]:
    """Stage the new folder, move the old ones aside (backups for the user's), then rename the new one into place."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{BINDER_DIR}.", suffix=".partial", dir=root))
    except OSError as error:
        raise ShareError(f"Cannot write into {root} ({error.strerror}); check its permissions and share again.") from None
    backups: list[Path] = []
    retired: list[tuple[Path, Path]] = []
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        (staging / "entrypoint").chmod(0o755)
        staging.chmod(0o755)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        for folder in existing:
            aside = _backup_name(folder, stamp) if folder in in_the_way else staging / f".old{folder.name}"
            os.replace(folder, aside)
            retired.append((folder, aside))
            if folder in in_the_way:
                backups.append(aside)
        os.replace(staging, root / BINDER_DIR)
    except BaseException:
        for folder, aside in reversed(retired):
            if aside.exists() and not folder.exists():
                os.replace(aside, folder)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for folder, aside in retired:
        if folder not in in_the_way:
            shutil.rmtree(root / BINDER_DIR / aside.name, ignore_errors=True)
    return backups


def _backup_name(folder: Path, stamp: str) -> Path:
    candidate, number = folder.with_name(f"{folder.name}.backup-{stamp}"), 1
    while candidate.exists():
        number += 1
        candidate = folder.with_name(f"{folder.name}.backup-{stamp}-{number}")
    return candidate


def _index_warnings(requirements: str) -> list[str]:
    warnings = []
    for line in requirements.splitlines():
        option, _, location = line.strip().partition(" ")
        if option in ("--index-url", "--extra-index-url", "--find-links") and location.strip().rstrip("/") != PUBLIC_INDEX:
            warnings.append(
                f"requirements.txt names {location.strip()} ({option}); Binder can only install from it if it is public "
                "and needs no credentials."
            )
    return warnings
