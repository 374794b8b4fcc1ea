"""Target platforms: their names, and which wheel an installer there picks."""

from __future__ import annotations

import pytest

from envcapsule.errors import UsageError
from envcapsule.platforms import Target, best_wheel, parse_platforms, platform_of, target_glibc

NUMPY = [
    "numpy-2.2.6-cp311-cp311-macosx_11_0_arm64.whl",
    "numpy-2.2.6-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl",
    "numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "numpy-2.2.6-cp311-cp311-musllinux_1_2_x86_64.whl",
    "numpy-2.2.6-cp311-cp311-win_amd64.whl",
    "numpy-2.2.6.tar.gz",
]


def test_platforms_are_parsed_in_order_and_an_unknown_one_is_named() -> None:
    assert parse_platforms("linux/arm64, linux/amd64") == ("linux/arm64", "linux/amd64")
    with pytest.raises(UsageError, match="not linux/riscv64"):
        parse_platforms("linux/amd64,linux/riscv64")


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux/amd64", "numpy-2.2.6-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ("linux/arm64", "numpy-2.2.6-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"),
    ],
)
def test_the_target_picks_its_own_manylinux_wheel(platform: str, expected: str) -> None:
    assert best_wheel(Target(platform, "3.11.2"), NUMPY) == expected


def test_a_wheel_for_a_newer_glibc_or_another_python_does_not_fit() -> None:
    target = Target("linux/amd64", "3.11.2", glibc=(2, 36))
    assert (
        best_wheel(target, ["demo-1.0-cp311-cp311-manylinux_2_39_x86_64.whl", "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"])
        is None
    )
    assert best_wheel(target, ["demo-1.0-py3-none-any.whl"]) == "demo-1.0-py3-none-any.whl"


def test_the_capture_platform_is_named_like_the_engine_names_platforms() -> None:
    assert platform_of("darwin", "arm64") == "darwin/arm64"
    assert platform_of("windows", "AMD64") == "windows/amd64"
    assert platform_of("linux", "aarch64") == "linux/arm64"


def test_the_image_glibc_is_the_capture_one_on_linux_and_bookworm_elsewhere() -> None:
    assert target_glibc({"os": "linux", "libc": "glibc", "libc_version": "2.31"}) == (2, 31)
    assert target_glibc({"os": "darwin"}) == (2, 36)
