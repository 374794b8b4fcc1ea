"""Choosing and fetching the standalone CPython for a base image that has none."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from envcapsule.image import python_dist
from envcapsule.image.python_dist import Offer, PythonDistError, choose, fetch_standalone_python, machine_for, parse_offers

LISTING = [
    {"key": "cpython-3.11.9-linux-x86_64-gnu", "version": "3.11.9", "implementation": "cpython", "os": "linux",
     "arch": "x86_64", "libc": "gnu", "variant": "default"},
    {"key": "cpython-3.11.18-linux-x86_64-gnu", "version": "3.11.18", "implementation": "cpython", "os": "linux",
     "arch": "x86_64", "libc": "gnu", "variant": "default"},
    {"key": "cpython-3.11.18-linux-x86_64-musl", "version": "3.11.18", "implementation": "cpython", "os": "linux",
     "arch": "x86_64", "libc": "musl", "variant": "default"},
    {"key": "cpython-3.11.18+freethreaded-linux-x86_64-gnu", "version": "3.11.18", "implementation": "cpython",
     "os": "linux", "arch": "x86_64", "libc": "gnu", "variant": "freethreaded"},
    {"key": "cpython-3.11.18-linux-aarch64-gnu", "version": "3.11.18", "implementation": "cpython", "os": "linux",
     "arch": "aarch64", "libc": "gnu", "variant": "default"},
    {"key": "cpython-3.14.0rc1-linux-x86_64-gnu", "version": "3.14.0rc1", "implementation": "cpython", "os": "linux",
     "arch": "x86_64", "libc": "gnu", "variant": "default"},
    {"key": "pypy-3.11.15-linux-x86_64-gnu", "version": "3.11.15", "implementation": "pypy", "os": "linux",
     "arch": "x86_64", "libc": "gnu", "variant": "default"},
]  # fmt: skip


def test_only_final_glibc_cpython_builds_of_the_image_architecture_are_offered() -> None:
    assert parse_offers(LISTING, "x86_64") == [
        Offer("cpython-3.11.9-linux-x86_64-gnu", "3.11.9"),
        Offer("cpython-3.11.18-linux-x86_64-gnu", "3.11.18"),
    ]
    assert [offer.key for offer in parse_offers(LISTING, machine_for("arm64"))] == ["cpython-3.11.18-linux-aarch64-gnu"]


@pytest.mark.parametrize(
    ("wanted", "key", "warned"),
    [
        ("3.11.9", "cpython-3.11.9-linux-x86_64-gnu", False),
        ("3.11.2", "cpython-3.11.18-linux-x86_64-gnu", True),  # newest of the minor, numerically (18 > 9)
    ],
)
def test_the_exact_build_or_the_newest_of_the_same_minor(wanted: str, key: str, warned: bool) -> None:
    offer, warnings = choose(parse_offers(LISTING, "x86_64"), wanted)
    assert offer.key == key
    assert bool(warnings) is warned
    if warned:
        assert warnings == [f"No standalone build of Python {wanted} exists; the image uses Python 3.11.18 (same minor version)."]


def test_no_build_of_the_minor_is_an_error_that_says_what_to_do() -> None:
    with pytest.raises(PythonDistError, match=r"No standalone build of Python 3\.8 .*--base-image"):
        choose(parse_offers(LISTING, "x86_64"), "3.8.10")


def test_without_uv_the_sentence_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_uv(name: str, *args: object, **kwargs: object) -> object:
        if name == "uv":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(python_dist.shutil, "which", lambda name: None)
    monkeypatch.setattr(builtins, "__import__", no_uv)
    with pytest.raises(PythonDistError, match=r"needs uv .*pip install uv"):
        python_dist.find_uv()


def tiny_build(folder: Path) -> tuple[Path, str]:
    """An install_only-shaped archive: enough for uv to check, unpack and place it."""
    archive = folder / "cpython-3.11.2-tiny.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        files = {
            "python/bin/python3.11": "#!/bin/sh\necho 3.11.2\n",
            "python/lib/python3.11/os.py": "",
            "python/lib/python3.11/_sysconfigdata__linux_x86_64-linux-gnu.py": (
                "# system configuration generated and used by the sysconfig module\nbuild_time_vars = {}\n"
            ),
        }
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(text), 0o755
            tar.addfile(info, io.BytesIO(text.encode()))
        link = tarfile.TarInfo("python/bin/python3")
        link.type, link.linkname = tarfile.SYMTYPE, "python3.11"
        tar.addfile(link)
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def table(folder: Path, archive: Path, sha256: str) -> dict[str, str]:
    entry = {
        "name": "cpython", "arch": {"family": "x86_64", "variant": None}, "os": "linux", "libc": "gnu",
        "major": 3, "minor": 11, "patch": 2, "prerelease": "", "url": archive.as_uri(), "sha256": sha256,
        "variant": None, "build": "tiny",
    }  # fmt: skip
    path = folder / "downloads.json"
    path.write_text(json.dumps({"cpython-3.11.2-linux-x86_64-gnu": entry}))
    return {"UV_PYTHON_DOWNLOADS_JSON_URL": str(path), "PATH": "/usr/bin:/bin", "HOME": str(folder)}


def test_uv_fetches_checks_and_unpacks_the_build_once(tmp_path: Path) -> None:
    archive, sha256 = tiny_build(tmp_path)
    environ = table(tmp_path, archive, sha256)
    cache = tmp_path / "pythons"
    python = fetch_standalone_python("3.11.2", "amd64", cache, environ=environ)
    assert (python.key, python.version, python.warnings) == ("cpython-3.11.2-linux-x86_64-gnu", "3.11.2", [])
    assert (python.path / "bin" / "python3").resolve() == (python.path / "bin" / "python3.11").resolve()
    archive.unlink()  # a second build finds it in the cache and fetches nothing
    assert fetch_standalone_python("3.11.2", "amd64", cache, environ=environ).path == python.path
    context = tmp_path / "context" / "python"
    python_dist.copy_into(python, context)
    assert (context / "bin" / "python3").is_symlink() and (context / "lib" / "python3.11" / "os.py").is_file()


def test_a_build_with_another_hash_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    archive, _ = tiny_build(tmp_path)
    environ = table(tmp_path, archive, "0" * 64)
    with pytest.raises(PythonDistError, match=r"^uv could not fetch a standalone Python \(.*Hash mismatch"):
        fetch_standalone_python("3.11.2", "amd64", tmp_path / "pythons", environ=environ)
    assert not (tmp_path / "pythons" / "cpython-3.11.2-linux-x86_64-gnu").exists()
