"""Which platform a build is for, and whether the engine can run that platform's programs (QEMU through binfmt_misc)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from envcapsule.capsule import Capsule
from envcapsule.errors import BaseImageError, CapsuleError, EngineError, UsageError
from envcapsule.image.files import capture_platform
from envcapsule.platforms import parse_platforms

T = TypeVar("T")
_FOREIGN = ("exec format error", "exec user process caused")


def capsule_platforms(capsule: Capsule) -> tuple[str, ...]:
    """The platforms the capsule was locked for (a capsule from before targets: its capture's)."""
    return tuple((capsule.manifest.get("target") or {}).get("platforms") or ()) or (capture_platform(capsule),)


def build_platform(capsule: Capsule, requested: str | None, native: str) -> str:
    """``requested`` when the capsule was locked for it; by default the engine's own platform if targeted, else the first."""
    locked = capsule_platforms(capsule)
    unlocked = (capsule.manifest.get("target") or {}).get("unlocked") or []
    if requested is None:
        usable = [p for p in locked if p not in unlocked]
        return native if native in usable else (usable or list(locked))[0]
    chosen = parse_platforms(requested)
    if len(chosen) != 1:
        raise UsageError(
            f"A build is for one platform, not {', '.join(chosen)}", "pass --platform once, and build again for the other"
        )
    platform = chosen[0]
    if platform not in locked:
        raise CapsuleError(
            f"The capsule was locked for {', '.join(locked)}, not {platform}",
            f"snapshot again with --platform {','.join([*locked, platform])} to add it",
        )
    if platform in unlocked:
        raise CapsuleError(
            f"The capsule could not be locked for {platform} at the snapshot (capsule.toml's warnings say why)",
            "fix what they name and snapshot again, or build for another platform",
        )
    return platform


def check_emulation(check: Callable[[], T], native: str, platform: str) -> T:
    """Run ``check`` (the base image's probe); on an engine of another architecture, a failure to execute becomes one sentence."""
    try:
        return check()
    except BaseImageError as error:
        if platform != native and any(words in str(error).lower() for words in _FOREIGN):
            raise cannot_emulate(native, platform) from None
        raise


def cannot_emulate(native: str, platform: str) -> EngineError:
    return EngineError(
        f"This {native} Docker engine cannot run {platform} programs, which building a {platform} image needs",
        f"install qemu-user-static and binfmt-support on the engine's host (binfmt_misc registers QEMU), or build on a {platform} host",
    )
