"""Where a verify ran, and every way that differs from where the notebook was captured.

``reproduced`` is a verdict on outputs only; these conditions say whether it was reached under
the capture's conditions. Each difference is one warning sentence, and ``exact`` is false when
any applies: another Python patch version in the image, an image architecture other than the
capture's or the engine's own (emulated), a base image other than the recorded one, system
packages at other versions than the recorded ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_ARCHITECTURES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
}


@dataclass(frozen=True)
class Conditions:
    image: str
    image_id: str | None
    capsule_hash: str | None
    python_captured: str | None
    python_image: str | None
    platform_captured: str | None
    platform_image: str | None
    engine_platform: str | None
    base_image: str | None
    warnings: tuple[str, ...] = field(default=())

    @property
    def exact(self) -> bool:
        return not self.warnings

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "image_id": self.image_id,
            "capsule_hash": self.capsule_hash,
            "python_captured": self.python_captured,
            "python_image": self.python_image,
            "platform_captured": self.platform_captured,
            "platform_image": self.platform_image,
            "engine_platform": self.engine_platform,
            "base_image": self.base_image,
            "exact": self.exact,
            "warnings": list(self.warnings),
        }

    def render_text(self) -> str:
        python = f"Python {self.python_image or 'unknown'}"
        if self.python_captured and self.python_captured != self.python_image:
            python += f" (captured {self.python_captured})"
        where = [f"image {self.image}", python, f"platform {self.platform_image or 'unknown'}"]
        if self.engine_platform and self.engine_platform != self.platform_image:
            where.append(f"on a {self.engine_platform} engine")
        if self.capsule_hash:
            where.append(f"capsule {self.capsule_hash[:12]}")
        return "Ran in " + ", ".join(where) + "."


def architecture(machine: str | None) -> str | None:
    if not machine:
        return None
    return _ARCHITECTURES.get(machine.lower(), machine.lower())


def read_conditions(
    image: str,
    manifest: Mapping[str, Any],
    *,
    image_attrs: Mapping[str, Any] | None,
    engine_architecture: str | None,
    python_image: str | None,
    machine_image: str | None,
    base_image: str | None,
    base_digest: str | None,
    system_packages: Sequence[Mapping[str, Any]] | None,
) -> Conditions:
    """The conditions of one run, from the capsule's manifest, the image, the engine and what the runner saw inside."""
    attrs = image_attrs or {}
    interpreter = manifest.get("interpreter") or {}
    captured_platform = manifest.get("platform") or {}
    captured_os = str(captured_platform.get("os") or "linux").lower()
    captured_arch = architecture(captured_platform.get("machine"))
    image_arch = architecture(machine_image) or architecture(attrs.get("Architecture"))
    engine_arch = architecture(engine_architecture)
    image_os = str(attrs.get("Os") or "linux").lower()
    warnings = [
        *_python_warnings(interpreter.get("version"), python_image),
        *_platform_warnings(captured_arch, image_arch, engine_arch, captured_os),
        *_base_warnings(manifest.get("base_image") or {}, base_image, base_digest),
        *_system_warnings((manifest.get("system") or {}).get("packages") or [], system_packages),
    ]
    return Conditions(
        image=image,
        image_id=attrs.get("Id"),
        capsule_hash=manifest.get("capsule_hash"),
        python_captured=interpreter.get("version"),
        python_image=python_image,
        platform_captured=f"{captured_os}/{captured_arch}" if captured_arch else None,
        platform_image=f"{image_os}/{image_arch}" if image_arch else None,
        engine_platform=f"linux/{engine_arch}" if engine_arch else None,
        base_image=base_image,
        warnings=tuple(warnings),
    )


def _python_warnings(captured: str | None, found: str | None) -> list[str]:
    if found is None:
        return ["The kernel in the image did not say its Python version, so it could not be compared with the capture's."]
    if captured and captured != found:
        same_minor = captured.split(".")[:2] == found.split(".")[:2]
        what = "another patch version" if same_minor else "another version"
        return [
            f"The image's Python is {found}, the capture's {captured} ({what}); outputs were compared under another interpreter."
        ]
    return []


def _platform_warnings(captured: str | None, image: str | None, engine: str | None, captured_os: str = "linux") -> list[str]:
    warnings = []
    if captured and image and (captured != image or captured_os != "linux"):
        warnings.append(f"The image is linux/{image}, but the notebook was captured on {captured_os}/{captured}.")
    if image and engine and image != engine:
        warnings.append(f"The image is linux/{image} and ran emulated on a linux/{engine} engine.")
    return warnings


def _base_warnings(recorded: Mapping[str, Any], used: str | None, digest: str | None) -> list[str]:
    name, pinned = recorded.get("name"), recorded.get("digest")
    if name and used and name != used:
        return [f"The image was built on the base image {used}, not on {name} as the capsule records."]
    if pinned and digest and pinned != digest:
        return [f"The base image {used or name} is now {digest}, not {pinned} as the capsule records."]
    return []


def _system_warnings(recorded: Sequence[Mapping[str, Any]], found: Sequence[Mapping[str, Any]] | None) -> list[str]:
    if not recorded:
        return []
    if found is None:
        return ["The image has no dpkg database, so its system packages could not be compared with the capture's."]
    installed = {(str(p.get("name")), str(p.get("architecture") or "")): str(p.get("version")) for p in found}
    by_name = {str(p.get("name")): str(p.get("version")) for p in found}
    different = []
    for package in recorded:
        name, version = str(package.get("name")), str(package.get("version"))
        have = installed.get((name, str(package.get("architecture") or ""))) or by_name.get(name)
        if have != version:
            different.append(f"{name} {have or 'missing'} (captured {version})")
    if not different:
        return []
    shown = ", ".join(different[:5]) + (f", and {len(different) - 5} more" if len(different) > 5 else "")
    return [f"{len(different)} system package(s) in the image differ from the capture: {shown}."]
