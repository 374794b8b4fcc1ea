"""share_binder(): the binder/ export and its commit-pinned link, as `envcapsule share NOTEBOOK --binder` shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envcapsule.progress import Progress
from envcapsule.share.binder import BinderExport, export_binder
from envcapsule.share.errors import ShareError
from envcapsule.share.links import DEFAULT_HUB, BinderLink, binder_link, normalized_hub


@dataclass(frozen=True)
class ShareResult:
    export: BinderExport
    link: BinderLink | None
    no_link: str | None = None  # why there is no link (no repository, no remote, no commit)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "link": self.link.link if self.link else None,
            "badge": self.link.badge if self.link else None,
            "commit": self.link.commit if self.link else None,
            "no_link": self.no_link,
            "binder": self.export.to_json(),
            "warnings": self.warnings,
        }


def share_binder(
    notebook: Path,
    *,
    hub: str = DEFAULT_HUB,
    force: bool = False,
    capsule_dir: Path | None = None,
    remote: str | None = None,
    base_image: str | None = None,
    progress: Progress | None = None,
) -> ShareResult:
    """Write binder/ (always), then make the link (when the repository allows one; otherwise say why in ``no_link``)."""
    from envcapsule.paths import default_capsule_dir

    normalized_hub(hub)  # a bad --hub is refused before anything is written
    notebook = Path(notebook).absolute()
    capsule_dir = Path(capsule_dir or default_capsule_dir(notebook)).absolute()
    export = export_binder(notebook, capsule_dir=capsule_dir, force=force, base_image=base_image, progress=progress)
    try:
        link = binder_link(notebook, hub=hub, capsule=capsule_dir, binder=export.folder, remote=remote)
    except ShareError as error:
        return ShareResult(export, None, str(error), list(export.warnings))
    return ShareResult(export, link, None, [*export.warnings, *link.warnings])
