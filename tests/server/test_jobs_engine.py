"""The REST jobs with the real core on a real Docker engine: build, launch, status, stop, and a cancelled launch."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import BASE_IMAGE, http_status
from tests.server.conftest import Api, ended, payload, start

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KERNEL = "capsule-kernel"


@pytest.fixture
def engine_notebook(
    jp_root_dir: Path,
    jp_data_dir: Path,
    kernel_env: Path,
    shared_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_client: Any,
) -> str:
    """The example notebook, naming a kernelspec that runs the Debian-python kernel environment (as the base image has)."""
    monkeypatch.setenv("ENVCAPSULE_CACHE_DIR", str(shared_cache))
    spec = jp_data_dir / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [str(kernel_env), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "capsule", "language": "python"}))
    content = json.loads((ROOT / "notebooks" / "data-analysis.ipynb").read_text())
    content["metadata"]["kernelspec"] = {"name": KERNEL, "display_name": "capsule", "language": "python"}
    (jp_root_dir / "analysis.ipynb").write_text(json.dumps(content))
    shutil.copy(ROOT / "notebooks" / "requirements.txt", jp_root_dir / "requirements.txt")
    return "analysis.ipynb"


@pytest.fixture
def built_images(docker_client: Any) -> Iterator[list[str]]:
    """Image ids the test built, removed afterwards so that other suites build theirs from scratch."""
    images: list[str] = []
    yield images
    for image in images:
        docker_client.images.remove(image, force=True)


async def test_build_launch_status_stop(api: Api, engine_notebook: str, built_images: list[str]) -> None:
    build = await start(api, "build", {"path": engine_notebook, "base_image": BASE_IMAGE})
    built = await ended(api, build["id"], timeout=900)
    assert built["state"] == "done", built["error"]
    built_images.append(built["result"]["image_id"])
    image = built["result"]["image"]

    status = payload(await api("status", params={"path": engine_notebook}))
    assert (status["state"], status["image"], status["image_built"], status["engine_error"]) == ("up-to-date", image, True, None)

    launch = await start(api, "launch", {"path": engine_notebook})
    launched = await ended(api, launch["id"], timeout=180)
    assert launched["state"] == "done", launched["error"]
    result = launched["result"]
    try:
        assert result["url"].startswith("http://127.0.0.1:")
        assert await asyncio.get_running_loop().run_in_executor(None, http_status, result["url"]) == 200
        status = payload(await api("status", params={"path": engine_notebook}))
        assert [c["container"] for c in status["containers"]] == [result["container"]]
    finally:
        stopped = await api("stop", "POST", {"container": result["name"]})
    assert payload(stopped) == {"stopped": [result["container"]]}
    assert payload(await api("status", params={"path": engine_notebook}))["containers"] == []


async def test_a_cancelled_launch_leaves_no_container(
    api: Api, engine_notebook: str, docker_client: Any, built_images: list[str]
) -> None:
    build = await start(api, "build", {"path": engine_notebook, "base_image": BASE_IMAGE})
    built = await ended(api, build["id"], timeout=900)
    assert built["state"] == "done", built["error"]
    built_images.append(built["result"]["image_id"])

    launch = await start(api, "launch", {"path": engine_notebook})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while (job := payload(await api(f"jobs/{launch['id']}")))["step"] != "Waiting for Jupyter to answer":
        assert job["state"] == "running" and loop.time() < deadline, f"the launch ended before it could be cancelled: {job}"
        await asyncio.sleep(0.01)
    assert (await api(f"jobs/{launch['id']}", "DELETE")).code == 202

    cancelled = await ended(api, launch["id"], timeout=120)
    assert cancelled["state"] == "cancelled"
    label = f"envcapsule.capsule-hash={built['result']['capsule_hash']}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []
