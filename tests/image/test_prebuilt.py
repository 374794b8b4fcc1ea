"""Kernel wheels installed on the host once, with real uv and this host's Python, and copied straight into the image."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import zipfile
from pathlib import Path

import pytest

from envcapsule.errors import BuildError
from envcapsule.image.dockerfile import render_dockerfile
from envcapsule.image.files import LockedFile
from envcapsule.image.prebuilt import HostInstall, InstalledTrees, host_install
from envcapsule.image.wheelcache import WheelCache
from tests.image.test_dockerfile import SPEC

MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"
SITE = f"lib/python{MINOR}/site-packages"


def make_wheel(folder: Path, name: str, version: str = "1.0", source: str = "VALUE = 1\n") -> Path:
    """A real wheel: one module, one console script, and the dist-info a wheel must have."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": source,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": f"[console_scripts]\n{name}-cli = {name}:main\n",
        f"{name}-{version}.data/scripts/{name}-tool": "#!python\nprint('tool')\n",  # a wheel's own script
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in {**files, f"{dist}/RECORD": record}.items():
            archive.writestr(member, text)
    return path


def cached(cache: WheelCache, wheel: Path) -> LockedFile:
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    cache.add(wheel, sha, wheel.name)
    name, version = wheel.name.split("-")[:2]
    return LockedFile(name, version, wheel.name, sha, wheel.stat().st_size)


@pytest.fixture
def host() -> HostInstall:
    from envcapsule.image.python_dist import find_uv

    found, why = host_install(Path(find_uv()), f"{MINOR}.0", os.uname().machine.replace("x86_64", "amd64"), conda=False)
    assert found is not None, why
    return found


def test_a_wheel_is_installed_once_with_bytecode_and_a_relocatable_script(host: HostInstall, tmp_path: Path) -> None:
    cache = WheelCache(tmp_path / "wheels")
    file = cached(cache, make_wheel(tmp_path / "dist", "demo"))
    trees = InstalledTrees(tmp_path / "installed", host)

    trees.ensure([file], cache)

    tree = trees.path(file)
    assert (tree / SITE / "demo" / "__init__.py").read_text() == "VALUE = 1\n"
    pyc = next((tree / SITE / "demo" / "__pycache__").glob("__init__.*.pyc")).read_bytes()
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, never checked against the files' times
    script = (tree / "bin" / "demo-cli").read_text()
    assert script.startswith("#!/bin/sh\n") and "/'python'" in script and str(tmp_path) not in script
    tool = (tree / "bin" / "demo-tool").read_text()
    assert tool.startswith(("#!/bin/sh\n", "#!/opt/envcapsule/kernel/bin/python\n")) and str(tmp_path) not in tool
    assert (tree / "bin" / "demo-cli").stat().st_mode & 0o777 == 0o755
    assert (tree / SITE / "demo" / "__init__.py").stat().st_mode & 0o777 == 0o644
    left = {p.name for p in tree.rglob("*")}
    assert not left & {"pyvenv.cfg", "python", "python3", "activate", "_virtualenv.pth", "_virtualenv.py"}
    assert (tree / SITE / "demo-1.0.dist-info" / "INSTALLER").read_text().strip() == "uv"


def test_placing_links_the_installed_files_and_a_second_build_installs_nothing(
    host: HostInstall, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = WheelCache(tmp_path / "wheels")
    files = [cached(cache, make_wheel(tmp_path / "dist", name)) for name in ("alpha", "beta")]
    trees = InstalledTrees(tmp_path / "installed", host)
    trees.ensure(files, cache)

    monkeypatch.setattr(InstalledTrees, "_install", lambda *a: pytest.fail("installed again"))
    trees.ensure(files, cache)
    trees.place(files, tmp_path / "context" / "kernel-rest")

    layer = tmp_path / "context" / "kernel-rest"
    assert {p.name for p in (layer / SITE).iterdir()} >= {"alpha", "beta", "alpha-1.0.dist-info", "beta-1.0.dist-info"}
    assert sorted(p.name for p in (layer / "bin").iterdir()) == ["alpha-cli", "alpha-tool", "beta-cli", "beta-tool"]
    assert (layer / SITE / "alpha" / "__init__.py").stat().st_nlink == 2  # a hard link to the host cache


def test_a_wheel_that_does_not_match_its_hash_is_never_installed(host: HostInstall, tmp_path: Path) -> None:
    cache = WheelCache(tmp_path / "wheels")
    file = cached(cache, make_wheel(tmp_path / "dist", "demo"))
    cache.path(file.sha256, file.filename).write_bytes(make_wheel(tmp_path / "other", "demo", source="VALUE = 2\n").read_bytes())
    trees = InstalledTrees(tmp_path / "installed", host)

    with pytest.raises(
        BuildError, match=r"Installing demo-1.0-py3-none-any.whl on this host for the image failed: Hash mismatch for `demo==1.0`"
    ):
        trees.ensure([file], cache)
    assert not trees.path(file).exists() and not list(trees.root.iterdir())

    assert cache.drop_changed([file]) == [file] and not cache.has(file)  # the build fetches it again


@pytest.mark.parametrize(
    ("uv", "version", "machine", "conda", "why"),
    [
        ("uv", MINOR + ".0", "amd64", True, "a conda capsule's pip packages go onto its conda environment"),
        (None, MINOR + ".0", "amd64", False, "this host has no uv"),
        ("uv", MINOR + ".0", "s390x", False, "this host is not a linux/s390x machine"),
        ("uv", "2.7.18", "amd64", False, "this host has no Python 2.7"),
    ],
)
def test_where_the_host_cannot_install_the_builder_stages_do(
    uv: str | None, version: str, machine: str, conda: bool, why: str
) -> None:
    from envcapsule.image.python_dist import find_uv

    if machine == "amd64":
        machine = {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]
    found, reason = host_install(Path(find_uv()) if uv else None, version, machine, conda)
    assert (found, reason) == (None, why)


def test_the_dockerfile_copies_the_hosts_install_straight_into_the_kernel() -> None:
    shared = dataclasses.replace(SPEC, kernel_install="host", server_image="sha256:" + "a" * 64, start_image="sha256:" + "b" * 64)
    text = render_dockerfile(shared)
    assert text.count("FROM ") == 1 and "installer" not in text  # no builder stage at all
    assert "RUN python3 -m venv --without-pip /opt/envcapsule/kernel\n\nCOPY kernel-large/ /opt/envcapsule/kernel/" in text
    assert text.index("COPY kernel-large/ /opt/envcapsule/kernel/") < text.index("COPY kernel-rest/ /opt/envcapsule/kernel/")
    inline = render_dockerfile(dataclasses.replace(SPEC, kernel_install="host"))
    assert "AS server" in inline and "AS kernel-large" not in inline and "COPY --from=server" in inline


def test_the_context_archive_stores_every_file_whole_and_owned_by_root(tmp_path: Path) -> None:
    import tarfile

    from envcapsule.image.build import context_archive

    context = tmp_path / "context"
    (context / "kernel-rest" / "lib").mkdir(parents=True)
    (context / "Dockerfile").write_text("FROM scratch\n")
    (context / "kernel-rest" / "lib" / "a.py").write_text("A = 1\n")
    os.link(context / "kernel-rest" / "lib" / "a.py", context / "kernel-rest" / "b.py")  # as the host cache links them
    with context_archive(context) as archive:
        assert archive is not None  # GNU tar is on every Linux host the tests run on
        members = {m.name: m for m in tarfile.open(fileobj=archive)}
    assert {"Dockerfile", "kernel-rest/lib/a.py", "kernel-rest/b.py"} <= set(members)
    assert all(m.isfile() for name, m in members.items() if name.endswith((".py", "Dockerfile")))  # no tar hard link
    assert {(m.uid, m.gid) for m in members.values()} == {(0, 0)}
