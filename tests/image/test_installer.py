"""The builder stages' install script: uv where it runs, pip (and a notice) where it cannot."""

from __future__ import annotations

import platform
import stat
import subprocess
from pathlib import Path

import pytest

from envcapsule.image.installer import PIP_FALLBACK_NOTICE, Installer, host_installer, write_installer

RECORDER = '#!/bin/sh\nif [ "$1" = --version ]; then exit 0; fi\necho "$(basename "$0") $*" >> "$(dirname "$0")/../calls"\n'


def context(tmp_path: Path, uv: str | None) -> tuple[Path, Path]:
    """A context's installer/ (with ``uv`` as the uv binary's text, if any) and a fake interpreter that logs its calls."""
    fake_uv = tmp_path / "host-uv"
    if uv is not None:
        fake_uv.write_text(uv)
        fake_uv.chmod(0o755)
    write_installer(tmp_path / "installer", Installer(fake_uv if uv is not None else None, "none here"))
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.write_text(RECORDER)
    python.chmod(0o755)
    return tmp_path / "installer" / "install", python


def install(script: Path, python: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(script), str(python), "/tmp/envcapsule/kernel-rest"], capture_output=True, text=True)


def calls(tmp_path: Path) -> str:
    return (tmp_path / "calls").read_text()


def test_uv_installs_when_it_runs(tmp_path: Path) -> None:
    script, python = context(tmp_path, RECORDER)
    done = install(script, python)
    assert done.returncode == 0, done.stderr
    assert PIP_FALLBACK_NOTICE not in done.stdout
    line = calls(tmp_path)
    assert line.startswith(f"uv pip install --python {python} ")
    for flag in ("--offline", "--no-index", "--no-deps", "--require-hashes", "--link-mode=copy", "--compile-bytecode"):
        assert flag in line.split()
    assert line.split()[-2:] == ["-r", "/tmp/envcapsule/kernel-rest/requirements.txt"]


@pytest.mark.parametrize("uv", ["\x7fELF\x02 not for this machine", None], ids=["cannot-run", "absent"])
def test_pip_installs_and_says_so_where_uv_cannot_run(tmp_path: Path, uv: str | None) -> None:
    script, python = context(tmp_path, uv)
    done = install(script, python)
    assert done.returncode == 0, done.stderr
    assert PIP_FALLBACK_NOTICE in done.stdout.splitlines()
    line = calls(tmp_path)
    assert line.startswith("python -m pip install --no-index --no-deps --require-hashes ")
    assert "--find-links /tmp/envcapsule/kernel-rest" in line


def test_an_install_that_fails_fails_the_step(tmp_path: Path) -> None:
    script, python = context(tmp_path, '#!/bin/sh\n[ "$1" = --version ] && exit 0\nexit 3\n')
    assert install(script, python).returncode == 3
    assert not (tmp_path / "calls").exists()  # no pip after a failed uv install: a hash mismatch stays an error


def test_the_installer_folder_has_fixed_modes(tmp_path: Path) -> None:
    (tmp_path / "uv").write_text("binary")
    (tmp_path / "uv").chmod(0o755)
    write_installer(tmp_path / "installer", Installer(tmp_path / "uv"))
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "installer").iterdir()}
    assert modes == {"install": 0o644, "uv": 0o755}
    assert stat.S_IMODE((tmp_path / "installer").stat().st_mode) == 0o755


def test_no_host_uv_for_another_architecture() -> None:
    other = "aarch64" if platform.machine().lower() in ("x86_64", "amd64") else "x86_64"
    installer = host_installer(other)
    assert (installer.uv, installer.name) == (None, "pip")
    assert other in installer.reason


def test_the_host_uv_for_its_own_architecture() -> None:
    installer = host_installer(platform.machine())
    assert installer.name == "uv" and installer.uv is not None and installer.uv.is_file()


def test_the_server_layer_shares_no_file_with_the_cache_or_other_layers(tmp_path: Path) -> None:
    # A file linked twice into a context reaches the engine as a tar hard link, with another checksum.
    from envcapsule.capsule import sha256_bytes
    from envcapsule.image.context import write_server_context
    from envcapsule.image.files import LockedFile
    from envcapsule.image.server_env import ServerLock
    from envcapsule.image.wheelcache import WheelCache
    from tests.image.test_dockerfile import SPEC

    wheel = tmp_path / "six-1.17.0-py2.py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    cache = WheelCache(tmp_path / "cache")
    cached = cache.add(wheel, sha256_bytes(b"wheel"), wheel.name)
    locked = LockedFile("six", "1.17.0", wheel.name, sha256_bytes(b"wheel"), 5)
    write_server_context(tmp_path / "context", SPEC, ServerLock((locked,), ""), cache, None, Installer(None, "none"))
    copied = tmp_path / "context" / "server" / wheel.name
    assert copied.read_bytes() == b"wheel" and copied.stat().st_nlink == 1 and cached.stat().st_nlink == 1
    assert (tmp_path / "context" / "Dockerfile").read_text().count("FROM ") == 2  # the server stage, and the image's start
