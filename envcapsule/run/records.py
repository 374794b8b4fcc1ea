"""Host-side runtime records: the token of each launched container, readable only by its owner.

The token never goes into the image or the container's labels, so listing running
containers with their URLs needs a small record on the host: one JSON file per
container, mode 0600, in ``$XDG_RUNTIME_DIR/envcapsule/`` (a per-user tmpfs, cleared at
logout) or else ``~/.local/share/envcapsule/runtime/``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from envcapsule.atomic import atomic_writer
from envcapsule.run.launched import Launched

_CONTAINER_ID = re.compile(r"^[0-9a-f]{12,64}$")


def runtime_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "envcapsule"
    return Path.home() / ".local" / "share" / "envcapsule" / "runtime"


def write_record(launched: Launched) -> Path:
    """Write the record atomically; the file is created 0600 and its folder 0700."""
    folder = runtime_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = _record_path(launched.container)
    with atomic_writer(target, "w", encoding="utf-8") as stream:
        os.chmod(stream.fileno(), 0o600)  # the token is inside: readable by its owner only
        json.dump(launched.to_json(), stream, indent=2)
    return target


def read_token(container_id: str) -> str:
    """The token recorded for this container, or "" when there is no readable record."""
    try:
        record = json.loads(_record_path(container_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    token = record.get("token") if isinstance(record, dict) else None
    return token if isinstance(token, str) else ""


def remove_record(container_id: str) -> None:
    _record_path(container_id).unlink(missing_ok=True)


def recorded_ids() -> list[str]:
    folder = runtime_dir()
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.glob("*.json") if _CONTAINER_ID.match(path.stem))


def _record_path(container_id: str) -> Path:
    if not _CONTAINER_ID.match(container_id):
        raise ValueError(f"not a container id: {container_id!r}")
    return runtime_dir() / f"{container_id}.json"
