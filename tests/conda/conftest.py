"""A real conda environment per test: Debian's python behind a conda prefix, made offline from the local channel."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conda.channel import create_environment, debian_python_version, make_channel
from tests.conftest import DEBIAN_PYTHON, require


def require_conda_tools() -> None:
    """py-rattler, conda-lock and Debian's python (which the channel's ``python`` package wraps)."""
    require(importlib.util.find_spec("rattler") is not None, "py-rattler is needed to index the local conda channel")
    require(importlib.util.find_spec("conda_lock") is not None, "conda-lock is needed to write and read conda-lock.yml")
    require(DEBIAN_PYTHON.exists(), "Debian's /usr/bin/python3 is needed for the conda environment's python")
    minor = ".".join(debian_python_version().split(".")[:2])
    require(Path(f"/usr/bin/python{minor}").exists(), f"/usr/bin/python{minor} is needed for the conda environment's python")


@pytest.fixture(scope="session")
def conda_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_conda_tools()
    return make_channel(tmp_path_factory.mktemp("conda"))


@pytest.fixture(scope="session")
def package_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rattler-cache")


@pytest.fixture()
def conda_python(conda_channel: Path, package_cache: Path, tmp_path: Path) -> Path:
    """``<prefix>/bin/python`` of a fresh conda environment holding python, tinypkg and libdata."""
    return create_environment(conda_channel, tmp_path / "env", ["python", "tinypkg", "libdata"], package_cache)


def prefix_of(python: Path) -> Path:
    return python.parent.parent


def site_packages(python: Path) -> Path:
    [site] = (prefix_of(python) / "lib").glob("python3.*/site-packages")
    return site


def add_pip_distribution(python: Path, name: str = "demo", version: str = "1.0") -> Path:
    """A distribution pip installed into the conda environment (no conda record lists its files)."""
    folder = site_packages(python) / f"{name}-{version}.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (folder / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    (folder / "INSTALLER").write_text("pip\n")
    (folder / "RECORD").write_text(f"{name}/__init__.py,,\n")
    (site_packages(python) / name).mkdir()
    (site_packages(python) / name / "__init__.py").write_text("")
    return folder


def records_of(prefix: Path) -> dict[str, dict[str, object]]:
    """The prefix's conda-meta records by name, as ``conda list --json`` would report them (plus hashes)."""
    fields = ("name", "version", "build", "build_number", "channel", "subdir", "url", "md5", "sha256")
    records = {}
    for path in sorted((prefix / "conda-meta").glob("*.json")):
        data = json.loads(path.read_text())
        records[data["name"]] = {**{key: data.get(key) for key in fields}, "depends": sorted(data.get("depends") or [])}
    return records
