"""The compatibility rules, table by table: drivers, compute capabilities, base images, indexes."""

from __future__ import annotations

import pytest

from envcapsule.cuda import (
    arch_supported,
    cuda_base_image,
    cuda_supported_by_driver,
    cudnn_version_from_int,
    driver_satisfies,
    min_driver_for,
    torch_index_url,
)
from envcapsule.image.base import BaseImageError, default_base_image


@pytest.mark.parametrize(
    ("cuda", "minimum"),
    [
        ("11.0", "450.80.02"),
        ("11.8", "450.80.02"),
        ("12.0", "525.60.13"),
        ("12.4", "525.60.13"),
        ("12.9", "525.60.13"),
        ("12", "525.60.13"),
        ("13.0", "580"),
        ("10.2", None),
        ("", None),
    ],
)
def test_the_minimum_driver_depends_on_the_cuda_major_only(cuda: str, minimum: str | None) -> None:
    assert min_driver_for(cuda) == minimum


@pytest.mark.parametrize(
    ("host", "minimum", "ok"),
    [
        ("550.54.15", "525.60.13", True),
        ("525.60.13", "525.60.13", True),
        ("525.60.12", "525.60.13", False),
        ("525.60", "525.60.13", False),
        ("470.82.01", "525.60.13", False),
        ("580.65.06", "580", True),
        ("580", "580", True),
        ("575.57.08", "580", False),
        ("1000.1", "580", True),
    ],
)
def test_a_driver_satisfies_a_minimum_compared_part_by_part(host: str, minimum: str, ok: bool) -> None:
    assert driver_satisfies(host, minimum) is ok


@pytest.mark.parametrize(
    ("driver", "cuda"),
    [("550.54.15", "12.4"), ("535.183.01", "12.2"), ("580.82.07", "13.0"), ("470.256.02", "11.4"), ("440.33", None)],
)
def test_the_newest_cuda_a_driver_runs_natively(driver: str, cuda: str | None) -> None:
    assert cuda_supported_by_driver(driver) == cuda


TORCH_CU124 = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]


@pytest.mark.parametrize(
    ("gpu", "arch_list", "ok"),
    [
        ("9.0", TORCH_CU124, True),  # H100
        ("8.9", TORCH_CU124, True),  # L4 / RTX 4090: sm_86 machine code runs on 8.9
        ("8.0", ["sm_86"], False),  # machine code never runs on a lower minor
        ("10.0", TORCH_CU124, False),  # B200: another major, and no PTX to compile
        ("10.0", [*TORCH_CU124, "compute_90"], True),  # PTX is compiled for newer GPUs
        ("8.6", ["compute_90"], False),  # but never for older ones
        ("3.7", TORCH_CU124, False),  # K80
        ("9.0", ["sm_90a"], True),  # arch-specific code: exactly 9.0
        ("9.1", ["sm_90a"], False),
        ("12.0", ["sm_100", "sm_120"], True),
        ("8.6", ["7.5", "8.0+PTX"], True),  # TORCH_CUDA_ARCH_LIST spelling
        ("9.0", ["7.5", "8.0+PTX"], True),
        ("9.0", ["7.5", "8.0"], False),
        ("9.0", [], True),  # nothing recorded: nothing to refuse
    ],
)
def test_compute_capability_against_the_arch_list(gpu: str, arch_list: list[str], ok: bool) -> None:
    assert arch_supported(gpu, arch_list) is ok


@pytest.mark.parametrize(
    ("cuda", "ubuntu", "image"),
    [
        ("12.4", None, "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04"),
        ("12.6", "22.04", "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04"),  # the captured host's Ubuntu
        ("12.6", None, "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04"),  # else the newest Ubuntu
        ("12.6", "20.04", "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04"),  # no image for that release
        ("12.7", None, "nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04"),  # the next minor up
        ("12.0", "22.04", "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04"),
        ("12", None, "nvidia/cuda:12.9.1-cudnn-runtime-ubuntu24.04"),  # a major alone: the newest
        ("11.7", None, "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04"),
        ("13.0", "22.04", "nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04"),
        ("13.1", None, None),  # newer than the table
        ("10.2", None, None),
    ],
)
def test_cuda_base_image_table(cuda: str, ubuntu: str | None, image: str | None) -> None:
    assert cuda_base_image(cuda, ubuntu) == image


def manifest(cuda: dict[str, str] | None) -> dict[str, object]:
    platform = {"distro_id": "debian", "distro_codename": "bookworm"}
    return {"interpreter": {"version": "3.11.2"}, "platform": platform, **({"cuda": cuda} if cuda else {})}


@pytest.mark.parametrize(
    ("cuda", "base"),
    [
        (None, "python:3.11.2-slim-bookworm"),
        ({"version": "12.4", "source": "pip-wheels"}, "python:3.11.2-slim-bookworm"),  # the wheels bring CUDA along
        ({"version": "12.4", "source": "conda"}, "python:3.11.2-slim-bookworm"),
        ({"version": "12.4", "source": "system"}, "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04"),
        ({"driver_seen": "550.54.15"}, "python:3.11.2-slim-bookworm"),  # a GPU host, but no CUDA in the environment
    ],
)
def test_only_system_cuda_chooses_an_nvidia_base_image(cuda: dict[str, str] | None, base: str) -> None:
    assert default_base_image(manifest(cuda)) == base


def test_system_cuda_captured_on_ubuntu_keeps_that_release() -> None:
    captured = manifest({"version": "12.6", "source": "system"})
    captured["platform"] = {"distro_id": "ubuntu", "distro_version": "22.04"}
    assert default_base_image(captured) == "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04"


def test_system_cuda_without_a_known_image_asks_for_a_base_image() -> None:
    with pytest.raises(BaseImageError, match=r"CUDA 13\.1 .*pass --base-image"):
        default_base_image(manifest({"version": "13.1", "source": "system"}))


@pytest.mark.parametrize(
    ("version", "index"),
    [
        ("2.5.1+cu124", "https://download.pytorch.org/whl/cu124"),
        ("2.9.0+cu130", "https://download.pytorch.org/whl/cu130"),
        ("0.20.1+cu118", "https://download.pytorch.org/whl/cu118"),
        ("2.5.1+cpu", "https://download.pytorch.org/whl/cpu"),
        ("2.5.1+rocm6.2", "https://download.pytorch.org/whl/rocm6.2"),
        ("2.5.1", None),
        ("1.0+local.build", None),
    ],
)
def test_a_pytorch_local_version_names_its_index(version: str, index: str | None) -> None:
    assert torch_index_url(version) == index


@pytest.mark.parametrize(("value", "text"), [(90100, "9.1.0"), (90800, "9.8.0"), (8902, "8.9.2"), (8700, "8.7.0")])
def test_cudnn_integer_versions(value: int, text: str) -> None:
    assert cudnn_version_from_int(value) == text
