"""The files an image installs: one per locked package, read back from the capsule's pylock.toml."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from envcapsule import grammar
from envcapsule.capsule import Capsule
from envcapsule.errors import CapsuleError
from envcapsule.lock.pylock import read_pylock
from envcapsule.platforms import Target, best_wheel, glibc_of, platform_of, target_glibc

# Frameworks and big wheels (numpy, pandas, ...) change rarely: a layer of their own keeps a
# one-package change elsewhere from reinstalling them.
LARGE_FRAMEWORKS = ("torch", "tensorflow", "jax", "jaxlib", "triton", "mxnet", "paddlepaddle", "onnxruntime-gpu")
LARGE_PREFIXES = ("nvidia-", "cupy-", "jax-cuda", "tensorflow-")
LARGE_BYTES = 4 * 1024 * 1024
# Wheels this big (torch, nvidia-*) get a layer each, so a change beside them never rewrites them.
OWN_LAYER_BYTES = 100 * 1024 * 1024
MAX_OWN_LAYERS = 24  # the engine allows 127 layers in all


@dataclass(frozen=True)
class LockedFile:
    name: str
    version: str
    filename: str
    sha256: str
    size: int | None
    url: str | None = None
    vendored: str | None = None  # path inside the capsule folder

    def __post_init__(self) -> None:
        # Each becomes a line of a requirements file or a path in the build context: pylock.toml is data too.
        where = f"pylock.toml package {self.name!r}"
        grammar.matching(f"{where} name", self.name, grammar.DISTRIBUTION, "a distribution name")
        grammar.matching(f"{where} version", self.version, grammar.VERSION, "a version")
        grammar.file_name(f"{where} file name", self.filename)
        grammar.sha256(f"{where} sha256", self.sha256)
        if self.vendored is not None:
            grammar.relative_path(f"{where} wheel path", self.vendored)

    @property
    def is_large(self) -> bool:
        big = self.size is not None and self.size >= LARGE_BYTES
        return big or self.name in LARGE_FRAMEWORKS or self.name.startswith(LARGE_PREFIXES)


@dataclass(frozen=True)
class InstallPlan:
    files: tuple[LockedFile, ...]
    skipped: tuple[str, ...]  # one sentence per package the image cannot hold

    @property
    def own_layers(self) -> tuple[LockedFile, ...]:
        """The very large wheels, each installed in a layer of its own: CUDA libraries first, then by name."""
        huge = [f for f in self.files if f.size is not None and f.size >= OWN_LAYER_BYTES]
        return tuple(sorted(huge, key=lambda f: (not f.name.startswith("nvidia-"), f.name))[:MAX_OWN_LAYERS])

    @property
    def large(self) -> tuple[LockedFile, ...]:
        own = set(self.own_layers)
        return tuple(f for f in self.files if f.is_large and f not in own and f.vendored is None)

    @property
    def rest(self) -> tuple[LockedFile, ...]:
        return tuple(f for f in self.files if not f.is_large and f.vendored is None)

    @property
    def local(self) -> tuple[LockedFile, ...]:
        """The capsule's own wheels (built from local sources, or on no index): the most volatile, so the last layer."""
        own = set(self.own_layers)
        return tuple(f for f in self.files if f.vendored is not None and f not in own)


def build_target(capsule: Capsule, platform: str | None) -> Target:
    """The platform an image of this capsule is built for, with the capture's interpreter and the glibc its files fit."""
    manifest = capsule.manifest
    interpreter = manifest.get("interpreter") or {}
    section = manifest.get("target") or {}
    glibc = glibc_of(section.get("glibc")) or target_glibc(manifest.get("platform") or {})
    version = str(interpreter.get("version") or "{}.{}".format(*sys.version_info[:2]))
    return Target(platform or capture_platform(capsule), version, str(interpreter.get("implementation") or "cpython"), glibc)


def capture_platform(capsule: Capsule) -> str:
    platform = capsule.manifest.get("platform") or {}
    return platform_of(str(platform.get("os", "linux")), str(platform.get("machine", "x86_64")))


def install_plan(capsule: Capsule, platform: str | None = None) -> InstallPlan:
    """The files an image for ``platform`` installs: the captured ones on the capture's own platform, else each target's.

    A package whose marker excludes the platform (``appnope`` on Linux) is left out and named.
    """
    lock = read_pylock((capsule.folder / "pylock.toml").read_text(encoding="utf-8"))
    target = build_target(capsule, platform)
    captured_os = (capsule.manifest.get("platform") or {}).get("os", "linux")
    exact = platform is None or (target.platform == capture_platform(capsule) and captured_os == "linux")
    environment = target.marker_environment()
    files: list[LockedFile] = []
    skipped: list[str] = []
    left_out: list[str] = []
    no_file: list[str] = []
    blockers: list[str] = []  # every one named in one sentence, not the first alone
    for package in lock.packages:
        version = str(package.version)
        if package.marker is not None and not package.marker.evaluate({**environment, "extra": ""}):
            left_out.append(package.name)
            continue
        built = (package.tool or {}).get("envcapsule", {})
        built_file = None
        if built.get("wheel"):
            filename = built["wheel"].rsplit("/", 1)[-1]
            built_file = LockedFile(package.name, version, filename, built["sha256"], built.get("size"), vendored=built["wheel"])
        candidates = [
            LockedFile(package.name, version, w.filename, (w.hashes or {}).get("sha256", ""), w.size, url=w.url, vendored=w.path)
            for w in package.wheels or ()
        ]
        if exact:
            chosen = candidates[0] if candidates and package.sdist is None else built_file
        else:
            candidates += [built_file] if built_file is not None else []
            best = best_wheel(target, [c.filename for c in candidates])
            chosen = next((c for c in candidates if c.filename == best), None)
            if chosen is None and (candidates or package.sdist is not None):
                no_file.append(f"{package.name}=={version}")
                continue
        if chosen is not None:
            files.append(chosen)
        elif package.sdist is not None:
            blockers.append(f"{package.name}=={version}")
        else:
            skipped.append(
                f"{package.name}=={version} is locked to a {_direct_kind(package)} source without a wheel in the capsule, so the image leaves it out."
            )
    if blockers:
        raise CapsuleError(
            f"{len(blockers)} package(s) are locked to a source distribution without a wheel built from it "
            f"({', '.join(blockers)}), and the image builds nothing without network; install a compiler or the "
            "library their build needs, or a published wheel, and snapshot again (the snapshot builds them)."
        )
    unresolved = (lock.tool or {}).get("envcapsule", {}).get("unresolved", [])
    skipped += [f"{u['name']}=={u['version']} was not locked at the snapshot, so the image leaves it out." for u in unresolved]
    if no_file:
        skipped.append(f"The lock has no wheel for {target.platform} of {', '.join(no_file)}, so that image leaves them out.")
    if left_out:
        skipped.append(f"Left out of the {target.platform} image, as their markers say: {', '.join(sorted(left_out))}.")
    return InstallPlan(tuple(files), tuple(skipped))


def _direct_kind(package: object) -> str:
    for kind in ("vcs", "directory", "archive"):
        if getattr(package, kind, None) is not None:
            return kind
    return "direct"


def vendored_path(capsule: Capsule, file: LockedFile) -> Path:
    assert file.vendored is not None
    return capsule.folder / file.vendored
