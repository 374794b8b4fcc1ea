"""Sharing capsules: binder/ export with commit-pinned links, registry push and pull by digest, image archives.

Nothing here imports docker at module level; the engine is reached through the client
that callers pass in, so the CLI, the magic and the server extension share one path.
"""

from __future__ import annotations

from envcapsule.share.archive import ArchiveExport, export_archive
from envcapsule.share.archive_import import ImportResult, import_archive
from envcapsule.share.binder import BinderExport, export_binder
from envcapsule.share.binder_share import ShareResult, share_binder
from envcapsule.share.errors import ArchiveError, RegistryError, ShareError
from envcapsule.share.links import DEFAULT_HUB, BinderLink, binder_link, parse_remote
from envcapsule.share.registry import is_digest_ref, launch_ref, pull_by_digest, push

__all__ = [
    "DEFAULT_HUB",
    "ArchiveError",
    "ArchiveExport",
    "BinderExport",
    "BinderLink",
    "ImportResult",
    "RegistryError",
    "ShareError",
    "ShareResult",
    "binder_link",
    "export_archive",
    "export_binder",
    "import_archive",
    "is_digest_ref",
    "launch_ref",
    "parse_remote",
    "pull_by_digest",
    "push",
    "share_binder",
]
