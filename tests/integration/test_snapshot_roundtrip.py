"""The capture round trip on real packages from the real index.

A kernel environment is made from Debian's /usr/bin/python3 with real distributions
(numpy among them), one installed from a local folder and one editable. The CLI
snapshots it; fresh environments installed from the capsule's requirements.txt (pip,
--require-hashes) and pylock.toml (uv) must hold exactly the same distributions.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from envcapsule import _toml as tomllib
from tests.conftest import DEBIAN_PYTHON, require
from tests.integration.conftest import installed, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def capsule(kernel_env: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    work = tmp_path_factory.mktemp("notebook")
    notebook = work / "analysis.ipynb"
    shutil.copy(Path(__file__).parents[2] / "notebooks" / "data-analysis.ipynb", notebook)
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    out = run(sys.executable, "-m", "envcapsule", "snapshot", notebook, "--python", kernel_env, "--json", env=env)
    report = json.loads(out)
    return Path(report["capsule"]), report


def test_capture_covers_every_distribution(kernel_env: Path, capsule: tuple[Path, dict]) -> None:
    folder, report = capsule
    original = installed(kernel_env)
    assert len(original) >= 15
    assert set(report["files"]) == set(original)
    assert report["unresolved"] == []
    assert report["files"]["numpy"]["kind"] == "wheel"
    assert report["files"]["localpkg"]["kind"] == "vendored"
    assert report["files"]["editpkg"]["kind"] == "vendored"
    assert folder == Path(report["capsule"]) and (folder / "capsule.toml").is_file()
    manifest = tomllib.loads((folder / "capsule.toml").read_text())
    assert manifest["capsule_hash"] == report["capsule_hash"]
    vendored = sorted(v["path"].split("-")[0] for v in manifest["vendor"])
    assert vendored == ["vendor/editpkg", "vendor/localpkg"]
    assert all((folder / v["path"]).is_file() for v in manifest["vendor"])


def test_requirements_install_with_hashes_reproduces_the_environment(
    kernel_env: Path, capsule: tuple[Path, dict], tmp_path: Path
) -> None:
    folder, _ = capsule
    run(DEBIAN_PYTHON, "-m", "venv", "--without-pip", tmp_path / "env")
    fresh = tmp_path / "env" / "bin" / "python"
    # Installed with the kernel environment's own pip, into the fresh one: it holds pip too, as the original does.
    run(
        kernel_env,
        "-m",
        "pip",
        "--python",
        fresh,
        "install",
        "--no-deps",
        "--require-hashes",
        "-r",
        "requirements.txt",
        cwd=folder,
    )
    assert installed(fresh) == installed(kernel_env)
    assert run(fresh, "-c", "import editpkg; print(editpkg.GREETING)").strip() == "hello from editpkg"


def test_pylock_installs_with_uv_to_the_same_environment(kernel_env: Path, capsule: tuple[Path, dict], tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    require(uv is not None, "uv is needed to install from pylock.toml")
    folder, _ = capsule
    run(DEBIAN_PYTHON, "-m", "venv", "--without-pip", tmp_path / "env")
    fresh = tmp_path / "env" / "bin" / "python"
    run(uv, "pip", "install", "--python", fresh, "--no-deps", "-r", folder / "pylock.toml", cwd=folder)
    assert installed_by_uv(uv, fresh) == installed(kernel_env)


def installed_by_uv(uv: str, python: Path) -> dict[str, str]:
    listing = json.loads(run(uv, "pip", "list", "--python", python, "--format=json"))
    return {item["name"].lower().replace("_", "-"): item["version"] for item in listing}


def test_a_second_snapshot_of_the_same_environment_has_the_same_hash(
    kernel_env: Path, capsule: tuple[Path, dict], tmp_path: Path
) -> None:
    folder, report = capsule
    notebook = folder.parent / "analysis.ipynb"
    again = json.loads(
        run(
            sys.executable,
            "-m",
            "envcapsule",
            "snapshot",
            notebook,
            "--python",
            kernel_env,
            "--out",
            tmp_path / "again.capsule",
            "--json",
        )
    )
    assert again["capsule_hash"] == report["capsule_hash"]
