"""A local conda channel built by hand, indexed with py-rattler, and environments created from it offline.

conda-forge cannot be reached here, so the tests make their own packages: ``.tar.bz2`` archives
with ``info/index.json``, ``info/paths.json`` and ``info/files``. The ``python`` package wraps
Debian's /usr/bin/python3.11 the way a venv does (``pyvenv.cfg`` plus ``bin/`` links), so a
real interpreter runs in a real conda prefix; ``tinypkg`` is a noarch python package with a
dist-info (conda owns it); ``libdata`` carries a text file with conda's prefix placeholder, which
the installer must rewrite to wherever the environment is installed.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import platform
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import DEBIAN_PYTHON

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
SUBDIR = {"x86_64": "linux-64", "aarch64": "linux-aarch64"}.get(platform.machine(), f"linux-{platform.machine()}")
TIMESTAMP = 1763683200000  # 2025-11-21, fixed so every build of the channel gives the same archives


@dataclass
class Package:
    name: str
    version: str
    build: str
    subdir: str = SUBDIR
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # path -> symlink target
    text_prefix: Sequence[str] = ()  # files holding the prefix placeholder (conda rewrites them at install)
    depends: Sequence[str] = ()
    noarch: str | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.build}.tar.bz2"

    def index_json(self) -> dict[str, object]:
        index: dict[str, object] = {
            "name": self.name,
            "version": self.version,
            "build": self.build,
            "build_number": 0,
            "depends": list(self.depends),
            "license": "BSD-3-Clause",
            "subdir": self.subdir,
            "timestamp": TIMESTAMP,
        }
        if self.noarch:
            index["noarch"] = self.noarch
        else:
            index["arch"], index["platform"] = platform.machine(), "linux"
        return index

    def paths_json(self) -> dict[str, object]:
        paths: list[dict[str, object]] = []
        for path, data in sorted(self.files.items()):
            entry: dict[str, object] = {
                "_path": path,
                "path_type": "hardlink",
                "sha256": hashlib.sha256(data).hexdigest(),
                "size_in_bytes": len(data),
            }
            if path in self.text_prefix:
                entry.update(file_mode="text", prefix_placeholder=PLACEHOLDER)
            paths.append(entry)
        paths += [{"_path": path, "path_type": "softlink"} for path in sorted(self.links)]
        return {"paths": sorted(paths, key=lambda p: str(p["_path"])), "paths_version": 1}

    def write(self, channel: Path) -> Path:
        target = channel / self.subdir / self.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(target, "w:bz2") as archive:
            add_file(archive, "info/index.json", json.dumps(self.index_json(), indent=1).encode())
            add_file(archive, "info/paths.json", json.dumps(self.paths_json(), indent=1).encode())
            add_file(archive, "info/files", "".join(f"{p}\n" for p in sorted([*self.files, *self.links])).encode())
            if self.text_prefix:
                lines = "".join(f'{PLACEHOLDER} text "{p}"\n' for p in self.text_prefix)
                add_file(archive, "info/has_prefix", lines.encode())
            for path, data in sorted(self.files.items()):
                add_file(archive, path, data, 0o755 if path.startswith("bin/") else 0o644)
            for path, target_path in sorted(self.links.items()):
                link = tarfile.TarInfo(path)
                link.type, link.linkname, link.mtime = tarfile.SYMTYPE, target_path, 0
                archive.addfile(link)
        return target


def add_file(archive: tarfile.TarFile, path: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(path)
    info.size, info.mode, info.mtime = len(data), mode, 0
    archive.addfile(info, io.BytesIO(data))


def debian_python_version() -> str:
    return subprocess.run(
        [str(DEBIAN_PYTHON), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def python_package(version: str) -> Package:
    """``python`` as a conda package: Debian's interpreter behind a venv-style prefix."""
    minor = ".".join(version.split(".")[:2])
    return Package(
        "python",
        version,
        "h0_debian",
        files={
            "pyvenv.cfg": f"home = /usr/bin\ninclude-system-site-packages = false\nversion = {version}\n".encode(),
            f"lib/python{minor}/site-packages/README.txt": b"Packages conda installs for this python live here.\n",
        },
        links={f"bin/python{minor}": f"/usr/bin/python{minor}", "bin/python3": f"python{minor}", "bin/python": f"python{minor}"},
    )


def tinypkg() -> Package:
    """A noarch python package with a dist-info, so conda (not pip) owns a distribution."""
    info = "site-packages/tinypkg-1.0.dist-info"
    files = {
        "site-packages/tinypkg/__init__.py": b"GREETING = 'hello from a conda package'\n",
        f"{info}/METADATA": b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
        f"{info}/INSTALLER": b"conda\n",
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{p.removeprefix('site-packages/')},,\n" for p in files).encode()
    return Package("tinypkg", "1.0", "pyhd8ed1ab_0", subdir="noarch", files=files, depends=["python >=3.8"], noarch="python")


def libdata() -> Package:
    """A binary-style package whose text file names its install prefix through conda's placeholder."""
    return Package(
        "libdata",
        "2.0",
        "h1a2b3c4_0",
        files={"etc/libdata.conf": f"prefix={PLACEHOLDER}\n".encode(), "share/libdata/data.txt": b"data\n"},
        text_prefix=["etc/libdata.conf"],
    )


def make_channel(root: Path, packages: Sequence[Package] | None = None) -> Path:
    """A conda channel folder (``noarch/`` and the platform's subdir) with repodata written by py-rattler."""
    import rattler

    channel = root / "channel"
    (channel / "noarch").mkdir(parents=True, exist_ok=True)
    (channel / SUBDIR).mkdir(parents=True, exist_ok=True)
    for package in packages if packages is not None else (python_package(debian_python_version()), tinypkg(), libdata()):
        package.write(channel)
    asyncio.run(rattler.index.index_fs(channel, write_zst=False, write_shards=False))
    return channel


def create_environment(channel: Path, prefix: Path, specs: Sequence[str], cache: Path) -> Path:
    """Solve ``specs`` against the local channel and install them into ``prefix``, offline, with py-rattler."""
    import rattler

    async def create() -> None:
        records = await rattler.solve(
            sources=[rattler.Channel(channel.as_uri())], specs=list(specs), platforms=[SUBDIR, "noarch"]
        )
        await rattler.install(records, target_prefix=prefix, cache_dir=cache, show_progress=False)

    asyncio.run(create())
    return prefix / "bin" / "python"
