"""Assemble a build context: the Dockerfile, hard links to cached wheels, the notebook and its capsule."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from envcapsule.capsule import FACTS, MANIFEST, Capsule
from envcapsule.image.dockerfile import ENTRYPOINT_SCRIPT, ImageSpec, kernelspec_json, render_dockerfile, render_server_dockerfile
from envcapsule.image.files import InstallPlan, LockedFile
from envcapsule.image.installer import Installer, write_installer
from envcapsule.image.server_env import ServerLock
from envcapsule.image.wheelcache import WheelCache, link_into
from envcapsule.sbom import SBOM_FILE

if TYPE_CHECKING:
    from envcapsule.conda.image import CondaBuild
    from envcapsule.image.prebuilt import InstalledTrees
    from envcapsule.image.python_dist import StandalonePython
    from envcapsule.system.layer import SystemLayer

CAPSULE_FILES = (MANIFEST, "pylock.toml", "requirements.txt", FACTS)
NO_UV = Installer(None, "no uv was given")


def kernel_layers(plan: InstallPlan) -> dict[str, tuple[LockedFile, ...]]:
    """Layer name -> its wheels, from stable to volatile: each very large wheel alone, the other large ones, the rest,
    and the capsule's own wheels last, so that changing a local package rebuilds only its small layer."""
    own = {f"kernel-wheel-{canonicalize_name(f.name)}": (f,) for f in plan.own_layers}
    layers = {**own, "kernel-large": plan.large, "kernel-rest": plan.rest, "kernel-local": plan.local}
    return {name: files for name, files in layers.items() if files}


def write_context(
    folder: Path,
    capsule: Capsule,
    spec: ImageSpec,
    plan: InstallPlan,
    server: ServerLock,
    cache: WheelCache,
    conda: CondaBuild | None = None,
    python: StandalonePython | None = None,
    installer: Installer = NO_UV,
    system: SystemLayer | None = None,
    sbom: str | None = None,
    trees: InstalledTrees | None = None,
    kernel_files: bool = True,
) -> Path:
    """Fill ``folder`` (empty or new) with everything ``docker build`` needs; returns the Dockerfile.

    ``conda`` adds the conda installer and the conda packages of a conda capsule; ``python``
    the standalone CPython for a base image without one; ``installer`` says whether uv goes in;
    ``system`` the system packages (``system/``) and the system site folders (``system-site/``);
    ``sbom`` is the image's SBOM text (``spec.sbom`` says the Dockerfile copies it); ``trees``, given
    when the host installed the kernel's wheels, fills each kernel layer with their installed files.
    """
    if spec.server_image is None:  # else the shared server images hold them, and they stay out of this context
        _write_server_inputs(folder, server, cache, python, installer)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    if conda is not None:
        from envcapsule.conda.image import write_conda_context

        write_conda_context(folder, conda, cache)
    for layer, files in kernel_layers(plan).items() if kernel_files else ():  # else placed as each part is built
        if trees is not None:
            trees.place(files, folder / layer)
        else:
            _write_layer(folder / layer, files, cache)
    display_name = f"Python {spec.python_version} (capsule {spec.capsule_hash[:12]})"
    for kernel in kernel_names(capsule, spec.notebook):
        (folder / "kernelspecs" / kernel).mkdir(parents=True)
        (folder / "kernelspecs" / kernel / "kernel.json").write_text(kernelspec_json(display_name), encoding="utf-8")
    entrypoint = folder / "entrypoint"
    entrypoint.write_text(ENTRYPOINT_SCRIPT)
    entrypoint.chmod(0o755)
    if system is not None:
        system.write(folder)
    _write_home(folder / "home", capsule, spec)
    if spec.notebook_files:
        _write_notebook_files(folder / "files", capsule)
    if spec.sbom:
        _write_sbom(folder / "sbom", sbom or "")
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(render_dockerfile(spec), encoding="utf-8")
    return dockerfile


def write_server_context(
    folder: Path, spec: ImageSpec, server: ServerLock, cache: WheelCache, python: StandalonePython | None, installer: Installer
) -> Path:
    """The context of the server stage alone: the same inputs as in ``write_context``, so either build's layers serve the other."""
    _write_server_inputs(folder, server, cache, python, installer)
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(render_server_dockerfile(spec), encoding="utf-8")
    return dockerfile


def _write_server_inputs(
    folder: Path, server: ServerLock, cache: WheelCache, python: StandalonePython | None, installer: Installer
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if python is not None:
        from envcapsule.image.python_dist import copy_into

        copy_into(python, folder / "python")
    write_installer(folder / "installer", installer)
    # Copies, not links: a wheel linked into a kernel layer too would reach the engine as a tar hard link
    # to that layer's file, whose checksum differs, and the server's COPY would then depend on the capsule.
    _write_layer(folder / "server", server.files, cache, link=False)


def _write_layer(folder: Path, files: Sequence[LockedFile], cache: WheelCache, link: bool = True) -> None:
    # The engine keys a COPY on names, content and modes: fixed modes keep the umask out of that key.
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    lines = []
    for file in files:
        source = cache.path(file.sha256, file.filename)
        if link:
            link_into(source, folder)
        else:
            shutil.copy2(source, folder / source.name)
        lines.append(f"{file.name}=={file.version} --hash=sha256:{file.sha256}\n")
    (folder / "requirements.txt").write_text("".join(lines))
    (folder / "requirements.txt").chmod(0o644)


def _write_notebook_files(folder: Path, capsule: Capsule) -> None:
    """files/: the notebook's files from the host cache (a capsule's own copies are hash-checked on the way in)."""
    from envcapsule.notebook_files.store import FILES_FOLDER, default_store

    store = default_store()
    files = capsule.files
    for file in files:
        store.add_checked(capsule.folder / FILES_FOLDER / file.path, file)
    store.place(files, folder)
    # The engine keys a COPY on names, content and modes: fixed modes keep the umask out of that key.
    for root, _dirs, names in os.walk(folder):
        os.chmod(root, 0o755)
        for name in names:
            os.chmod(os.path.join(root, name), 0o644)


def _write_sbom(folder: Path, text: str) -> None:
    # The engine keys a COPY on names, content and modes: fixed modes keep the umask out of that key.
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    (folder / SBOM_FILE).write_text(text, encoding="utf-8")
    (folder / SBOM_FILE).chmod(0o644)


def _write_home(home: Path, capsule: Capsule, spec: ImageSpec) -> None:
    """$HOME in the image: the notebook(s) and the capsule's manifest and lockfiles (not its wheels)."""
    target = home / spec.capsule_dir
    target.mkdir(parents=True)
    for name in (*CAPSULE_FILES, *(r.path for r in capsule.lockfiles if r.path not in CAPSULE_FILES)):
        if (capsule.folder / name).is_file():
            shutil.copyfile(capsule.folder / name, target / name)
    for notebook in capsule.notebooks:
        shutil.copyfile(capsule.folder / notebook, home / notebook)


# Jupyter's kernel names: lower case letters, digits, dots, dashes and underscores.
_KERNEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def kernel_names(capsule: Capsule, notebook: str | None) -> list[str]:
    """``python3``, and the kernel name the notebook asks for when it is another, so it opens without asking.

    The name is data from the capsule: it becomes a folder of the build context (never Dockerfile
    text), and only when it is a plain kernel name.
    """
    names = ["python3"]
    if notebook is None:
        return names
    try:
        content = json.loads((capsule.folder / notebook).read_text(encoding="utf-8"))
        wanted = content["metadata"]["kernelspec"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return names
    if isinstance(wanted, str) and wanted != "python3" and _KERNEL_NAME.fullmatch(wanted):
        names.append(wanted)
    return names
