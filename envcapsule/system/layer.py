"""The system layer of a build: which packages it installs and how, and the build-context files it needs."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcapsule import grammar
from envcapsule.atomic import atomic_writer
from envcapsule.capsule import Capsule
from envcapsule.progress import Progress
from envcapsule.system.capture import LIBRARY_FOLDER, carried_path, system_packages
from envcapsule.system.debs import Release, SystemPlan, link_debs, plan_system, read_base

PTH_FILE = "envcapsule-system.pth"


@dataclass(frozen=True)
class SystemLayer:
    plan: SystemPlan
    cache: Path
    site_dirs: tuple[str, ...] = ()
    libraries: tuple[Path, ...] = ()  # carried libraries: their copies in the capsule, under system/lib/<path in the image>
    capsule: Path | None = None

    @property
    def mode(self) -> str | None:
        """How the Dockerfile installs the packages; None when there is nothing to install (the base has them all)."""
        if self.plan.mode == "none" or (self.plan.mode == "offline" and not self.plan.debs):
            return None
        return self.plan.mode

    def write(self, folder: Path) -> None:
        if self.mode is not None:
            link_debs(self.plan, self.cache, folder / "system")
        if self.libraries and self.capsule is not None:
            source = self.capsule / LIBRARY_FOLDER
            for library in self.libraries:
                target = folder / "system-lib" / library.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(library, target)
                os.chmod(target, 0o644)
            for root, _dirs, _files in os.walk(folder / "system-lib"):
                os.chmod(root, 0o755)
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


def prepare_system_layer(
    capsule: Capsule, client: Any, base_image: str, base_id: str, cache: Path, progress: Progress, *, foreign: bool = False
) -> SystemLayer | None:
    """The capsule's system layer on ``base_image``; None when the capsule needs nothing from the operating system.

    ``foreign``: the image is for another CPU than this host's, whose apt fetches only its own
    architecture's files, so the image installs the packages by name from its own repository.
    """
    packages: Sequence[Any] = system_packages(capsule.manifest)
    sites = site_dirs(capsule)
    libraries = carried_libraries(capsule)
    if not packages and not sites and not libraries:
        return None
    plan = SystemPlan("none", Release(None, None))
    if packages:
        release, status = _base_state(client, base_image, base_id, cache)
        plan = plan_system(
            packages, base_release=release, base_status=status, image=base_image, cache=cache, progress=progress, foreign=foreign
        )
    return SystemLayer(plan, cache, sites, libraries, capsule.folder)


def _base_state(client: Any, image: str, image_id: str, cache: Path) -> tuple[Release, str | None]:
    """The base image's release and dpkg status, read once per image id (an image never changes under its id)."""
    grammar.sha256("base image id", image_id.removeprefix("sha256:"))
    record = cache / "bases" / f"{image_id.removeprefix('sha256:')}.json"
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        return Release(data["distro_id"], data["codename"]), data["status"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    release, status = read_base(client, image)
    with atomic_writer(record, "w", encoding="utf-8") as stream:
        stream.write(json.dumps({"distro_id": release.distro_id, "codename": release.codename, "status": status}))
    return release, status


def carried_libraries(capsule: Capsule) -> tuple[Path, ...]:
    """The capsule's copies of the libraries it carries (checked against their sha256 when the capsule was read)."""
    section = capsule.manifest.get("system") or {}
    paths = []
    for library in section.get("libraries") or []:
        grammar.matching("system.libraries", library, grammar.SYSTEM_LIBRARY, "a library path under /usr/local or /opt")
        paths.append(capsule.folder / carried_path(library))
    return tuple(paths)
