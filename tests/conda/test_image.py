"""The conda part of an image: Dockerfile pieces, the build context, and what cannot go into a Linux image."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from envcapsule.capsule import Capsule
from envcapsule.conda.image import CondaBuild, CondaFile, conda_files, write_conda_context
from envcapsule.errors import CapsuleError
from envcapsule.image.dockerfile import ImageSpec, render_dockerfile
from envcapsule.image.files import LockedFile
from envcapsule.image.server_env import ServerLock
from envcapsule.image.wheelcache import WheelCache

SPEC = ImageSpec(
    base_image="python:3.11.2-slim-bookworm",
    capsule_hash="c" * 64,
    notebook="analysis.ipynb",
    capsule_dir="analysis.capsule",
    python_version="3.11.2",
    created="2026-11-21T00:00:00Z",
    kernel_layers=("kernel-rest",),
    labels={"envcapsule.conda-lock-sha256": "d" * 64},
    conda=True,
)


def final_stage(text: str) -> str:
    return text.split("\nFROM python:3.11.2-slim-bookworm\n", 1)[1]


def test_the_conda_environment_is_installed_in_a_builder_stage_and_copied_as_one_layer() -> None:
    text = render_dockerfile(SPEC)

    assert "FROM server AS conda-installer" in text and "FROM conda-installer AS conda" in text
    assert (
        "/opt/envcapsule/conda-installer/bin/python /tmp/envcapsule/conda/install.py /tmp/envcapsule/conda /opt/envcapsule/kernel"
        in text
    )
    final = final_stage(text)
    order = [
        final.index("COPY --from=server "),
        final.index("COPY --from=conda /opt/envcapsule/kernel /opt/envcapsule/kernel"),
        final.index("COPY --from=kernel-rest /tmp/envcapsule/kernel-rest-root/opt/envcapsule/kernel /opt/envcapsule/kernel"),
        final.index("COPY --chown=1000:1000 home/"),
        final.index("LABEL "),
    ]
    assert order == sorted(order)


def test_pip_packages_go_on_the_conda_prefix_hash_checked_without_an_index() -> None:
    text = render_dockerfile(SPEC)
    installs = [line for line in text.splitlines() if " install " in line]

    assert len(installs) == 2  # conda installer, kernel-rest; the server goes through the install script
    assert all("--no-index" in line and "--require-hashes" in line and "--no-deps" in line for line in installs)
    assert "sh /tmp/envcapsule/installer/install /opt/envcapsule/server/bin/python /tmp/envcapsule/server" in text
    assert "--python /opt/envcapsule/kernel/bin/python install --root /tmp/envcapsule/kernel-rest-root" in text
    assert "FROM server AS kernel-rest\nCOPY --from=conda /opt/envcapsule/kernel /opt/envcapsule/kernel\n" in text


def test_no_package_file_or_installer_reaches_the_final_image() -> None:
    final = final_stage(render_dockerfile(SPEC))

    copies = [line for line in final.splitlines() if line.startswith("COPY")]
    assert not any(re.search(r"COPY (conda|conda-installer|kernel-rest)/", line) for line in copies)
    assert "conda-installer" not in final and "--mount" not in render_dockerfile(SPEC)


def test_without_pip_packages_there_are_no_pip_layers() -> None:
    text = render_dockerfile(dataclasses.replace(SPEC, kernel_layers=()))
    assert "kernel-rest" not in text and "venv --without-pip" not in text


def test_the_context_holds_the_installer_the_packages_and_their_records(tmp_path: Path) -> None:
    cache = WheelCache(tmp_path / "cache")
    wheel = cache.add(
        _file(tmp_path, "py_rattler-0.28.0-cp310-abi3-manylinux_2_17_x86_64.whl", b"wheel"),
        _sha(b"wheel"),
        "py_rattler-0.28.0-cp310-abi3-manylinux_2_17_x86_64.whl",
    )
    package = cache.add(_file(tmp_path, "python-3.11.2-h0_0.conda", b"conda"), _sha(b"conda"), "python-3.11.2-h0_0.conda")
    installer = ServerLock(
        (LockedFile("py-rattler", "0.28.0", wheel.name, _sha(b"wheel"), 5),), "py-rattler==0.28.0 --hash=sha256:x\n"
    )
    file = CondaFile(
        "python",
        "3.11.2",
        "h0_0",
        "https://conda.example.org/t/${TOKEN}/c/linux-64/python-3.11.2-h0_0.conda",
        "f" * 32,
        _sha(b"conda"),
        package.name,
        "https://conda.example.org/t/${TOKEN}/c",
        ("libzlib >=1.2",),
    )

    write_conda_context(tmp_path / "context", CondaBuild("linux-64", (file,), installer), cache)

    context = tmp_path / "context"
    assert (context / "conda-installer" / wheel.name).read_bytes() == b"wheel"
    assert (context / "conda-installer" / "requirements.txt").read_text() == installer.requirements
    assert (context / "conda" / "pkgs" / package.name).read_bytes() == b"conda"
    [written] = json.loads((context / "conda" / "records.json").read_text())
    assert written["url"] == file.url and written["depends"] == ["libzlib >=1.2"]
    assert (context / "conda" / "install.py").read_text().startswith('"""Install a capsule\'s conda packages')


def test_a_conda_environment_of_another_platform_cannot_become_a_linux_image(tmp_path: Path) -> None:
    manifest = {"conda": {"platform": "osx-arm64"}, "target": {"platforms": ["linux/arm64"]}}

    with pytest.raises(
        CapsuleError, match=r"captured for osx-arm64, and conda packages of that platform cannot run in a linux-aarch64 image"
    ):
        conda_files(Capsule(tmp_path, manifest))


def _file(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
