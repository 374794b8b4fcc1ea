"""Kernel layers installed on the host: each wheel once per Python minor, bytecode compiled, kept in the host cache.

The engine's classic builder commits a builder stage's install and then the image's copy of
it, so every kernel file is written, archived and unpacked twice. Where the host can install
for the image (uv, a Python of the image's minor, the image's own platform), each locked wheel
is installed once into a relocatable environment of its own on the host: hash-checked, with no
index and no network, its bytecode compiled as ``unchecked-hash`` pycs (valid whatever times
the files get in the image) under their paths in the image. What the wheel added - its
site-packages files, scripts and data - is kept in the host cache under its sha256 and the
Python minor. A build hard-links those trees into its context and the Dockerfile copies each
layer straight into the kernel environment: no builder stage, no wheel in any layer, and a
wheel another capsule already used costs no install at all. Elsewhere the builder stages
install as before (``envcapsule.image.installer``).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from envcapsule.contract import KERNEL_PREFIX
from envcapsule.errors import BuildError
from envcapsule.image.files import LockedFile
from envcapsule.image.wheelcache import WheelCache, link_or_copy
from envcapsule.progress import NullProgress, Progress

_MACHINES = {"amd64": "x86_64", "arm64": "aarch64"}
PREBUILT_FORMAT = "1"  # what an installed tree holds and how; a change makes every tree and layer memo new
_COMPILE = """
import compileall, py_compile, sys
image = sys.argv[1]
for tree in sys.argv[2:]:
    ok = compileall.compile_dir(tree, stripdir=tree, prependdir=image, quiet=1, workers=0,
                                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        sys.exit(f"bytecode compilation failed in {tree}")
"""


@dataclass(frozen=True)
class HostInstall:
    """What installs kernel wheels on this host: uv and an interpreter of the image's Python minor."""

    uv: str
    python: str
    minor: str  # "3.11"

    @property
    def site(self) -> str:
        """site-packages, relative to an environment's root."""
        return f"lib/python{self.minor}/site-packages"


def host_install(uv: Path | None, python_version: str, machine: str, conda: bool) -> tuple[HostInstall | None, str]:
    """A host install for an image of ``python_version`` on ``machine``, or None and why the builder stages install instead."""
    here = _MACHINES.get(platform.machine().lower(), platform.machine().lower())
    if conda:
        return None, "a conda capsule's pip packages go onto its conda environment"
    if uv is None:
        return None, "this host has no uv"
    if not sys.platform.startswith("linux") or _MACHINES.get(machine, machine) != here:
        return None, f"this host is not a linux/{machine} machine"
    minor = ".".join(python_version.split(".")[:2])
    found = subprocess.run(
        [str(uv), "python", "find", "--no-config", "--no-python-downloads", "--system", f"cpython@{minor}"],
        capture_output=True,
        text=True,
        check=False,
    )
    python = found.stdout.strip()
    if found.returncode != 0 or not python:
        return None, f"this host has no Python {minor}"
    return HostInstall(str(uv), python, minor), ""


class InstalledTrees:
    """Installed wheels under ``root``/cp<minor>/<sha256[:2]>/<sha256>/, each the files its install added."""

    def __init__(self, root: Path, host: HostInstall) -> None:
        self.root = root / f"cp{host.minor.replace('.', '')}-v{PREBUILT_FORMAT}"
        self.host = host

    def path(self, file: LockedFile) -> Path:
        return self.root / file.sha256[:2] / file.sha256

    def missing(self, files: Sequence[LockedFile]) -> list[LockedFile]:
        return [f for f in files if not self.path(f).is_dir()]

    def ensure(self, files: Sequence[LockedFile], wheels: WheelCache, progress: Progress | None = None) -> None:
        """Install every wheel of ``files`` not yet here (``wheels`` holds them, hash-checked by the caller)."""
        missing = self.missing(files)
        if not missing:
            return
        (progress or NullProgress()).step(f"Installing {len(missing)} wheel(s) on this host for the image (uv, once per wheel)")
        self.root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".installing-", dir=self.root))
        try:
            with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
                made = list(pool.map(lambda f: self._install(f, wheels, scratch), missing))
            self._compile([tree for tree, _ in made])
            for (tree, _), file in zip(made, missing, strict=True):
                _normalise_modes(tree)
                target = self.path(file)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.rename(tree, target)
                except OSError:  # another build installed it meanwhile: theirs is the same
                    pass
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _install(self, file: LockedFile, wheels: WheelCache, scratch: Path) -> tuple[Path, LockedFile]:
        env = scratch / file.sha256
        wheel = wheels.path(file.sha256, file.filename)
        venv = [self.host.uv, "venv", "--no-config", "--no-python-downloads", "--relocatable", "--quiet"]
        self._run([*venv, "--python", self.host.python, str(env)], file)
        skeleton = _listing(env)
        requirement = env.parent / f"{file.sha256}.txt"
        requirement.write_text(f"{file.name}=={file.version} --hash=sha256:{file.sha256}\n", encoding="utf-8")
        self._run(
            [
                self.host.uv,
                "pip",
                "install",
                "--python",
                str(env / "bin" / "python"),
                "--no-config",
                "--no-cache",
                "--offline",
                "--no-index",
                "--no-deps",
                "--no-build",
                "--require-hashes",
                "--link-mode=copy",
                "--quiet",
                "--find-links",
                str(wheel.parent),
                "-r",
                str(requirement),
            ],
            file,
        )
        _point_scripts_at_the_image(env)
        for relative in sorted(skeleton, reverse=True):  # the environment's own files: the image makes its own
            path = env / relative
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        return env, file

    def _compile(self, trees: Sequence[Path]) -> None:
        sites = [str(tree / self.host.site) for tree in trees if (tree / self.host.site).is_dir()]
        if sites:
            done = subprocess.run(
                [self.host.python, "-c", _COMPILE, f"{KERNEL_PREFIX}/{self.host.site}", *sites],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise BuildError(f"Compiling the kernel's bytecode on this host failed: {_last_line(done)}.")

    def _run(self, command: list[str], file: LockedFile) -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BuildError(f"Installing {file.filename} on this host for the image failed: {_last_line(done)}.")

    def place(self, files: Sequence[LockedFile], folder: Path) -> None:
        """``folder`` holds the installed files of ``files``, hard-linked from the cache, at their paths in the environment."""
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        for file in files:
            tree = self.path(file)
            for root, dirs, names in os.walk(tree):
                relative = os.path.relpath(root, tree)
                into = folder / relative
                for name in dirs:
                    (into / name).mkdir(mode=0o755, exist_ok=True)
                for name in names:
                    target = into / name
                    if not target.exists():  # two wheels with one file (a namespace __init__): the first stays
                        link_or_copy(os.path.join(root, name), target)


def _point_scripts_at_the_image(env: Path) -> None:
    """A script whose first line names this host's environment (uv writes relocatable ones; a wheel's own may not) runs the image's."""
    bin_dir = env / "bin"
    if not bin_dir.is_dir():
        return
    here = str(env).encode()
    for script in bin_dir.iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        first, newline, rest = data.partition(b"\n")
        if first.startswith(b"#!") and here in first:
            script.write_bytes(f"#!{KERNEL_PREFIX}/bin/python".encode() + newline + rest)


def _listing(env: Path) -> set[str]:
    found = set()
    for root, dirs, names in os.walk(env):
        for name in (*dirs, *names):
            found.add(os.path.relpath(os.path.join(root, name), env))
    return found


def _normalise_modes(tree: Path) -> None:
    """0755 folders and executables, 0644 the rest: the engine keys a COPY on modes, so the umask stays out of it."""
    for root, _dirs, names in os.walk(tree):
        os.chmod(root, 0o755)
        for name in names:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if os.stat(path).st_mode & 0o111 else 0o644)


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    """uv's reason: its line naming a hash mismatch, else its first line (without its box drawing)."""
    lines = [
        line.strip(" ×├─▶│╰").strip().removeprefix("Caused by:").removeprefix("cause:").strip()
        for line in (done.stderr or done.stdout or "").splitlines()
    ]
    lines = [line for line in lines if line]
    chosen = next((line for line in lines if "mismatch" in line.lower()), lines[0] if lines else "")
    return chosen.rstrip(".:") or f"exit status {done.returncode}"
