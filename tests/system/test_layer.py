"""The system layer in the Dockerfile and the [system] table in capsule.toml: order, grammar and the capsule hash."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from envcapsule.capsule import capsule_hash, check_values
from envcapsule.errors import CapsuleError
from envcapsule.image.dockerfile import ImageSpec, render_dockerfile
from envcapsule.system.debs import Release, SystemPlan
from envcapsule.system.layer import SystemLayer

SPEC = ImageSpec(
    base_image="debian-with-python:bookworm",
    capsule_hash="c" * 64,
    notebook="blur.ipynb",
    capsule_dir="blur.capsule",
    python_version="3.11.2",
    created="2026-12-01T00:00:00Z",
)


def final_stage(text: str) -> str:
    return text.rsplit("\nFROM debian-with-python:bookworm\n", 1)[1]


def test_offline_packages_come_right_after_the_shared_start_and_before_the_kernel() -> None:
    # The start (base, user, server environment) is shared by every capsule with this base and server lock;
    # the system packages are the capsule's own, so they come next, before every kernel layer.
    final = final_stage(render_dockerfile(dataclasses.replace(SPEC, system_packages="offline")))
    assert (
        final.index("useradd")
        < final.index("COPY --from=server")
        < final.index("dpkg --install /tmp/envcapsule/system/debs/*.deb")
        < final.index("COPY --from=kernel-")
    )
    assert "apt-get update" not in final  # no network: the files came from the host


def test_by_name_installs_from_the_base_repository_reading_names_from_a_file() -> None:
    final = final_stage(render_dockerfile(dataclasses.replace(SPEC, system_packages="by-name")))
    assert "xargs --arg-file=/tmp/envcapsule/system/apt.txt apt-get install --yes --no-install-recommends" in final
    assert "rm -rf /var/lib/apt/lists/*" in final


def test_the_system_site_folders_reach_the_kernel_through_a_pth_after_its_layers() -> None:
    text = render_dockerfile(dataclasses.replace(SPEC, system_site=True))
    final = final_stage(text)
    assert final.index("COPY --from=kernel-rest") < final.index(
        "COPY system-site/ /opt/envcapsule/kernel/lib/python3.11/site-packages/"
    )
    assert "system/" not in final.replace("system-site/", "")  # no packages, no system layer


def test_a_spec_refuses_an_unknown_install_mode() -> None:
    with pytest.raises(CapsuleError):
        dataclasses.replace(SPEC, system_packages="curl | sh")


def manifest(**system: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "capsule_hash": "a" * 64,
        "interpreter": {"implementation": "cpython", "version": "3.11.2", "abi_tag": "cp311"},
        "platform": {"os": "linux", "machine": "x86_64"},
        "system": {
            "manager": "dpkg",
            "python_packages": "system",
            "site_packages": ["/usr/lib/python3/dist-packages"],
            "packages": [{"name": "libgl1", "version": "1.6.0-1", "architecture": "amd64", "provides": ["libGL.so.1"]}],
            **system,
        },
    }


@pytest.mark.parametrize(
    "system",
    [
        {"packages": [{"name": "libgl1; curl x | sh", "version": "1", "architecture": "amd64"}]},
        {"packages": [{"name": "libgl1", "version": "1 && reboot", "architecture": "amd64"}]},
        {"site_packages": ["/etc"]},
        {"site_packages": ["/usr/lib/python3/dist-packages/../../../etc"]},
    ],
)
def test_capsule_values_outside_their_grammar_are_refused(system: dict[str, Any]) -> None:
    with pytest.raises(CapsuleError):
        check_values(manifest(**system))


def test_epochs_and_tildes_are_package_versions() -> None:
    check_values(manifest(packages=[{"name": "libx11-6", "version": "2:1.8.4-2+deb12u2", "architecture": "amd64"}]))
    check_values(manifest(packages=[{"name": "libxml2", "version": "2.9.14+dfsg-1.3~deb12u6", "architecture": "amd64"}]))


def test_the_hash_follows_versions_not_what_a_package_was_recorded_for() -> None:
    base = capsule_hash(manifest())
    relabelled = manifest(packages=[{"name": "libgl1", "version": "1.6.0-1", "architecture": "amd64", "provides": ["other"]}])
    upgraded = manifest(packages=[{"name": "libgl1", "version": "1.6.0-2", "architecture": "amd64"}])
    assert capsule_hash(relabelled) == base
    assert capsule_hash(upgraded) != base
    assert capsule_hash(manifest(python_packages="pypi")) != base


def test_carried_libraries_go_back_to_their_paths_right_after_the_system_packages(tmp_path: Path) -> None:
    capsule = tmp_path / "blur.capsule"
    copy = capsule / "system" / "lib" / "opt" / "demo" / "lib" / "libdemo.so.1"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(b"\x7fELF library")
    layer = SystemLayer(SystemPlan("none", Release(None, None)), tmp_path / "debs", libraries=(copy,), capsule=capsule)
    layer.write(tmp_path / "context")
    assert (tmp_path / "context" / "system-lib" / "opt" / "demo" / "lib" / "libdemo.so.1").read_bytes() == b"\x7fELF library"
    final = final_stage(render_dockerfile(dataclasses.replace(SPEC, system_packages="offline", system_libraries=True)))
    assert final.index("dpkg --install") < final.index("COPY system-lib/ /\nRUN ldconfig") < final.index("COPY --from=kernel-")


@pytest.mark.parametrize(
    "library",
    [
        "/opt/../lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/opt/demo/run.sh",
        "/usr/local/./lib/x.so",
    ],
)
def test_a_carried_library_outside_usr_local_and_opt_is_refused(library: str) -> None:
    with pytest.raises(CapsuleError):
        check_values(manifest(libraries=[library]))


def test_packages_the_base_already_has_need_no_layer_but_stay_on_the_label(tmp_path: Path) -> None:
    plan = SystemPlan("offline", Release("debian", "bookworm"), debs=(), names=("libstdc++6", "zlib1g"))
    layer = SystemLayer(plan, tmp_path)
    assert layer.mode is None and plan.label == "libstdc++6 zlib1g"
    layer.write(tmp_path / "context")
    assert not (tmp_path / "context" / "system").exists()
