"""The system layer of a build: which packages it installs and how, and the build-context files it needs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcapsule import grammar
from envcapsule.capsule import Capsule
from envcapsule.progress import Progress
from envcapsule.system.capture import system_packages
from envcapsule.system.debs import SystemPlan, link_debs, plan_system, read_base

PTH_FILE = "envcapsule-system.pth"


@dataclass(frozen=True)
class SystemLayer:
    plan: SystemPlan
    cache: Path
    site_dirs: tuple[str, ...] = ()

    @property
    def mode(self) -> str | None:
        return None if self.plan.mode == "none" else self.plan.mode

    def write(self, folder: Path) -> None:
        if self.mode is not None:
            link_debs(self.plan, self.cache, folder / "system")
        if self.site_dirs:
            site = folder / "system-site"
            site.mkdir()
            site.chmod(0o755)
            (site / PTH_FILE).write_text("".join(f"{d}\n" for d in self.site_dirs), encoding="utf-8")
            os.chmod(site / PTH_FILE, 0o644)


def site_dirs(capsule: Capsule) -> tuple[str, ...]:
    section = capsule.manifest.get("system") or {}
    if section.get("python_packages") != "system":
        return ()
    return tuple(
        grammar.matching("system.site_packages", d, grammar.SYSTEM_SITE_DIR, "a system site folder")
        for d in section.get("site_packages") or []
    )


def prepare_system_layer(capsule: Capsule, client: Any, base_image: str, cache: Path, progress: Progress) -> SystemLayer | None:
    """The capsule's system layer on ``base_image``; None when the capsule needs nothing from the operating system."""
    packages: Sequence[Any] = system_packages(capsule.manifest)
    sites = site_dirs(capsule)
    if not packages and not sites:
        return None
    release, status = read_base(client, base_image)
    plan = plan_system(packages, base_release=release, base_status=status, image=base_image, cache=cache, progress=progress)
    return SystemLayer(plan, cache, sites)
