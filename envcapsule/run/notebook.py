"""launch_notebook(): notebook -> capsule (made if missing) -> image (built if missing) -> GPU checks -> running container.

The CLI, the magic and the server extension all launch a notebook through this one path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envcapsule.facts import EnvironmentFacts
from envcapsule.progress import Progress
from envcapsule.run.launched import Launched


def launch_notebook(
    target: Path,
    client: Any,
    *,
    python: str | Path | None = None,
    facts: EnvironmentFacts | None = None,
    base_image: str | None = None,
    port: int | None = None,
    mount: bool = False,
    gpus: str | int | None = None,
    timeout: float = 60.0,
    progress: Progress | None = None,
) -> Launched:
    """``target`` is a notebook or a capsule folder; ``mount`` binds the notebook's folder at ~/work."""
    from envcapsule.capsule import read_capsule
    from envcapsule.cuda import gpu_request_for
    from envcapsule.image.build import build
    from envcapsule.run.launch import launch
    from envcapsule.snapshot import ensure_capsule

    capsule = ensure_capsule(target, python=python, facts=facts, progress=progress)
    image = build(capsule, base_image=base_image, client=client, progress=progress).image
    requested = gpu_request_for(read_capsule(capsule).manifest, client, gpus)
    return launch(
        client, image, port=port, mount=capsule.parent if mount else None, gpus=requested, timeout=timeout, progress=progress
    )
