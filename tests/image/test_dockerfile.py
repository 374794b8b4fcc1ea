"""The Dockerfile: the image contract, layer order, and nothing secret in any layer."""

from __future__ import annotations

import dataclasses
import re

import pytest

from envcapsule.image.base import default_base_image
from envcapsule.image.dockerfile import ImageSpec, kernelspec_json, render_dockerfile, render_server_dockerfile
from envcapsule.image.installer import INSTALL_SCRIPT

SPEC = ImageSpec(
    base_image="python:3.11.2-slim-bookworm",
    capsule_hash="c" * 64,
    notebook="analysis.ipynb",
    capsule_dir="analysis.capsule",
    python_version="3.11.2",
    created="2026-11-21T00:00:00Z",
    environment={"LANG": "C.UTF-8", "OMP_NUM_THREADS": "2"},
    labels={"envcapsule.capsule-hash": "c" * 64},
)


def final_stage(text: str) -> str:
    return text.split("\nFROM python:3.11.2-slim-bookworm\n", 1)[1]


def test_image_contract() -> None:
    final = final_stage(render_dockerfile(SPEC))
    assert "useradd --create-home --uid 1000" in final
    assert 'HOME="/home/jovyan"' in final
    assert "USER jovyan" in final and "WORKDIR /home/jovyan" in final and "EXPOSE 8888" in final
    assert 'ENTRYPOINT ["/usr/local/bin/envcapsule-entrypoint"]' in final
    assert 'CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser"]' in final


def test_layers_go_from_stable_to_volatile() -> None:
    final = final_stage(render_dockerfile(SPEC))
    order = [
        final.index("useradd"),
        final.index("COPY --from=server"),
        final.index("COPY --from=kernel-large"),
        final.index("COPY --from=kernel-rest"),
        final.index("COPY --chown=1000:1000 home/"),
        final.index("LABEL "),
    ]
    assert order == sorted(order)
    assert final.index("LABEL ") > final.index("CMD ")  # labels last, so a new label never breaks the cache


def test_installs_are_hash_checked_without_an_index() -> None:
    text = render_dockerfile(SPEC)
    installs = [line for line in text.splitlines() if "installer/install " in line]
    assert [line.split()[-2:] for line in installs] == [
        ["/opt/envcapsule/server/bin/python", "/tmp/envcapsule/server"],
        ["/opt/envcapsule/kernel/bin/python", "/tmp/envcapsule/kernel-large"],
        ["/opt/envcapsule/kernel/bin/python", "/tmp/envcapsule/kernel-rest"],
    ]
    commands = [line for line in INSTALL_SCRIPT.replace("\\\n", " ").splitlines() if " install --" in line]
    assert len(commands) == 2  # uv, and pip where uv cannot run
    assert all("--no-index" in line and "--require-hashes" in line and "--no-deps" in line for line in commands)


def test_the_installer_reaches_builder_stages_only() -> None:
    text = render_dockerfile(SPEC)
    assert text.count("COPY installer/ /tmp/envcapsule/installer/") == 1
    assert "installer" not in final_stage(text)


def test_the_shared_stages_alone_are_the_same_text_as_in_the_full_dockerfile() -> None:
    alone = render_server_dockerfile(SPEC).rstrip("\n").split("\n\n")[1:]
    assert alone[0].startswith("# The server environment") and "FROM python:3.11.2-slim-bookworm AS server\n" in alone[0]
    assert "\nFROM python:3.11.2-slim-bookworm\n" in alone[1] and alone[1].endswith(
        "COPY --from=server /opt/envcapsule/server /opt/envcapsule/server"
    )
    assert all(piece in render_dockerfile(SPEC).split("\n\n") for piece in alone)
    assert "/opt/envcapsule/kernel" not in "".join(alone) and "OMP_NUM_THREADS" not in "".join(
        alone
    )  # nothing of the capsule's own


SHARED = dataclasses.replace(SPEC, server_image="sha256:" + "a" * 64, start_image="sha256:" + "b" * 64)


def test_given_the_shared_images_the_capsule_starts_from_them_by_id() -> None:
    text = render_dockerfile(SHARED)
    froms = re.findall(r"^FROM (.+)$", text, flags=re.MULTILINE)
    assert froms == ["sha256:" + "a" * 64 + " AS server", "server AS kernel-large", "server AS kernel-rest", "sha256:" + "b" * 64]
    assert "installer/ " not in text and "COPY server/" not in text and "useradd" not in text
    shared, inline = text.split("\n\n"), render_dockerfile(SPEC).split("\n\n")
    assert shared[2:4] == inline[2:4] and shared[5:] == inline[5:]  # the kernel stages and the capsule's own steps, unchanged


@pytest.mark.parametrize("field", ["server_image", "start_image"])
def test_a_shared_image_is_named_by_id_only(field: str) -> None:
    with pytest.raises(Exception, match="sha256"):
        dataclasses.replace(SHARED, **{field: "python:3.11; rm -rf /"})
    with pytest.raises(ValueError):
        dataclasses.replace(SPEC, **{field: "sha256:" + "c" * 64})


def test_no_wheel_ever_reaches_the_final_image() -> None:
    final = final_stage(render_dockerfile(SPEC))
    copies = [line for line in final.splitlines() if line.startswith("COPY")]
    assert not any(re.search(r"COPY (server|kernel-large|kernel-rest)/", line) for line in copies)


def test_same_spec_same_text_and_only_classic_syntax() -> None:
    text = render_dockerfile(SPEC)
    assert text == render_dockerfile(SPEC)
    assert "--mount" not in text and "# syntax=" not in text and "--chmod" not in text


def test_labels_and_environment_are_quoted() -> None:
    text = render_dockerfile(SPEC)
    assert f'envcapsule.capsule-hash="{"c" * 64}"' in text
    assert 'OMP_NUM_THREADS="2"' in text


def test_kernelspec_points_at_the_kernel_environment() -> None:
    assert '"/opt/envcapsule/kernel/bin/python"' in kernelspec_json("Python 3.11.2")


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ({"distro_id": "debian", "distro_codename": "trixie"}, "python:3.12.7-slim-trixie"),
        ({"distro_id": "ubuntu", "distro_codename": "noble"}, "python:3.12.7-slim-bookworm"),
        ({}, "python:3.12.7-slim-bookworm"),
    ],
)
def test_default_base_image(platform: dict, expected: str) -> None:
    assert default_base_image({"interpreter": {"version": "3.12.7"}, "platform": platform}) == expected


def test_a_base_without_python_gets_a_standalone_stage_that_every_stage_starts_from() -> None:
    spec = dataclasses.replace(
        SPEC, base_image="nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04", standalone_python="cpython-3.11.9-linux-x86_64-gnu"
    )
    text = render_dockerfile(spec)
    froms = re.findall(r"^FROM (.+)$", text, flags=re.MULTILINE)
    assert froms == [
        "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04 AS python",
        "python AS server",
        *(f"server AS {layer}" for layer in spec.kernel_layers),
        "python",
    ]
    assert "COPY python/ /opt/envcapsule/python/\nENV PATH=/opt/envcapsule/python/bin:$PATH" in text
    assert "cpython-3.11.9-linux-x86_64-gnu" in text.split("\n\n")[1]
    assert "python/" not in render_dockerfile(SPEC).split("# The server environment")[0]


def test_the_base_path_is_kept_behind_the_server_environment() -> None:
    assert 'PATH="/opt/envcapsule/server/bin:$PATH"' in final_stage(render_dockerfile(SPEC))


def test_uid_1000_taken_by_another_user_is_renamed_to_jovyan() -> None:
    final = final_stage(render_dockerfile(SPEC))
    assert 'usermod --login jovyan --home /home/jovyan --move-home "$taken"' in final
    assert 'groupmod --new-name jovyan "$group"' in final


def test_the_sbom_is_copied_after_the_notebook_and_before_the_labels() -> None:
    final = final_stage(render_dockerfile(dataclasses.replace(SPEC, sbom=True)))
    copy = final.index("COPY sbom/ /opt/envcapsule/")
    assert final.index("COPY --chown=1000:1000 home/ /home/jovyan/") < copy < final.index("LABEL ")
    assert "sbom/" not in render_dockerfile(SPEC)


def test_a_pinned_base_is_named_by_digest_in_every_from() -> None:
    pinned = "docker.io/library/python@sha256:" + "2" * 64
    text = render_dockerfile(dataclasses.replace(SPEC, base_image=pinned))
    assert {line for line in text.splitlines() if line.startswith("FROM ") and " AS " not in line} == {f"FROM {pinned}"}
    assert "python:3.11.2-slim-bookworm" not in text
