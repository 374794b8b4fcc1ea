"""Which platform a build is for, the sentence an engine that cannot emulate it gets, and a launch on another platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envcapsule.capsule import Capsule
from envcapsule.errors import BaseImageError, CapsuleError, EngineError, UsageError
from envcapsule.image.emulation import build_platform, check_emulation
from envcapsule.run.launch import _foreign_platform


def capsule(tmp_path: Path, platforms: list[str], unlocked: list[str] | None = None, os_name: str = "darwin") -> Capsule:
    target: dict[str, Any] = {"platforms": platforms, **({"unlocked": unlocked} if unlocked else {})}
    return Capsule(tmp_path, {"platform": {"os": os_name, "machine": "arm64"}, "target": target})


def test_the_engine_platform_is_the_default_when_the_capsule_targets_it(tmp_path: Path) -> None:
    both = capsule(tmp_path, ["linux/amd64", "linux/arm64"])
    assert build_platform(both, None, "linux/amd64") == "linux/amd64"
    assert build_platform(both, None, "linux/arm64") == "linux/arm64"
    assert build_platform(capsule(tmp_path, ["linux/arm64"]), None, "linux/amd64") == "linux/arm64"


def test_a_target_that_failed_to_lock_is_not_built(tmp_path: Path) -> None:
    failed = capsule(tmp_path, ["linux/amd64", "linux/arm64"], unlocked=["linux/arm64"])
    assert build_platform(failed, None, "linux/arm64") == "linux/amd64"
    with pytest.raises(CapsuleError, match="could not be locked for linux/arm64"):
        build_platform(failed, "linux/arm64", "linux/amd64")


def test_a_build_is_for_one_known_platform(tmp_path: Path) -> None:
    both = capsule(tmp_path, ["linux/amd64", "linux/arm64"])
    with pytest.raises(UsageError, match="one platform"):
        build_platform(both, "linux/amd64,linux/arm64", "linux/amd64")
    with pytest.raises(UsageError, match="not linux/ppc64le"):
        build_platform(both, "linux/ppc64le", "linux/amd64")


def test_an_engine_that_cannot_run_the_platform_gets_one_sentence() -> None:
    def probe() -> None:
        raise BaseImageError(
            "The base image x has a python3 that failed (exit status 1: exec /usr/bin/python3: exec format error)"
        )

    with pytest.raises(EngineError) as refused:
        check_emulation(probe, "linux/amd64", "linux/arm64")
    assert str(refused.value) == (
        "This linux/amd64 Docker engine cannot run linux/arm64 programs, which building a linux/arm64 image needs; "
        "install qemu-user-static and binfmt-support on the engine's host (binfmt_misc registers QEMU), "
        "or build on a linux/arm64 host."
    )
    with pytest.raises(BaseImageError):  # on its own platform the failure is the base image's
        check_emulation(probe, "linux/amd64", "linux/amd64")


class Engine:
    def version(self) -> dict[str, str]:
        return {"Os": "linux", "Arch": "amd64"}


def test_a_launch_names_an_image_of_another_platform() -> None:
    assert _foreign_platform(Engine(), {"envcapsule.platform": "linux/arm64"}) == ("linux/arm64", "linux/amd64")  # type: ignore[arg-type]
    assert _foreign_platform(Engine(), {"envcapsule.platform": "linux/amd64"}) is None  # type: ignore[arg-type]
    assert _foreign_platform(Engine(), {}) is None  # type: ignore[arg-type]
