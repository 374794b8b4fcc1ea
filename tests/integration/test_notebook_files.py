"""A notebook that imports helpers.py beside it and reads data/input.csv runs again in its image (the CLI, the real engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.shell import envcapsule, ok
from tests.support import BASE_IMAGE, debian_venv, files_project

pytestmark = pytest.mark.integration


def test_the_notebooks_files_travel_and_a_changed_csv_rebuilds_only_the_files_layer(
    tmp_path: Path, shared_cache: Path, docker_client: Any
) -> None:
    python = debian_venv(tmp_path / "kernel", "ipykernel")
    (tmp_path / "project").mkdir()
    notebook = files_project(tmp_path / "project")
    images = []
    try:
        snapped = ok(envcapsule("snapshot", notebook, "--python", python, "--json", cache=shared_cache)).json()
        assert snapped["notebook_files"]["paths"] == ["data/input.csv", "helpers.py"]
        built = ok(envcapsule("build", notebook, "--base-image", BASE_IMAGE, "--json", cache=shared_cache)).json()
        images.append(built["image_id"])
        assert built["image"].endswith(f":{snapped['capsule_hash'][:12]}-{snapped['notebook_files']['files_hash'][:8]}")

        verified = envcapsule("verify", notebook, "--json", cache=shared_cache)
        assert verified.code == 0, verified.stdout + verified.stderr
        assert verified.json()["reproduced"] is True

        (notebook.parent / "data" / "input.csv").write_text("a,b\n1,2\n3,4\n")
        drift = envcapsule("diff", notebook, "--python", python, cache=shared_cache)
        assert "file data/input.csv was changed" in drift.stdout, drift.stdout + drift.stderr

        again = ok(envcapsule("snapshot", notebook, "--python", python, "--json", cache=shared_cache)).json()
        assert again["capsule_hash"] == snapped["capsule_hash"]
        rebuilt = ok(envcapsule("build", notebook, "--base-image", BASE_IMAGE, "--json", cache=shared_cache)).json()
        images.append(rebuilt["image_id"])
        assert rebuilt["image"] != built["image"] and not rebuilt["reused"]
        steps = rebuilt["steps"]
        files_step = next(i for i, step in enumerate(steps) if step["instruction"].startswith("COPY --chown=1000:1000 files/"))
        assert any(step["instruction"].endswith(" /opt/envcapsule/kernel/") for step in steps[:files_step])  # the kernel first
        # Only the files layer (and what follows it) is rebuilt; every environment layer comes from the cache.
        rebuilt_before = [step["instruction"] for step in steps[:files_step] if not step["cached"]]
        assert [instruction for instruction in rebuilt_before if not instruction.startswith("FROM ")] == []
        assert not steps[files_step]["cached"], steps
    finally:
        for image in images:
            docker_client.images.remove(image, force=True)
