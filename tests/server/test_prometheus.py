"""A real Prometheus (Debian's package) scrapes envcapsule/metrics of a real Jupyter server while a capsule runs."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import tiny_capsule, tiny_kernel, tiny_notebook  # noqa: F401 - fixtures shared with the CLI tests
from tests.cli.shell import envcapsule, ok
from tests.support import free_port, require

pytestmark = pytest.mark.integration
SCRAPE_BUDGET_SECONDS = 90  # a bound on the wait, not a timing assertion


@pytest.fixture
def jp_base_url() -> str:  # type: ignore[no-redef]  # overrides pytest-jupyter's "/a%40b/": Prometheus would send %2540
    return "/jupyter/"


def _config(folder: Path, port: int, base_url: str, token: str) -> Path:
    (folder / "token").write_text(token)
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n"
        "scrape_configs:\n  - job_name: envcapsule\n"
        f"    metrics_path: {base_url}envcapsule/metrics\n"
        f"    authorization:\n      type: Bearer\n      credentials_file: {folder / 'token'}\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    )
    return config


async def _query(client: httpx.AsyncClient, query: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/query", params={"query": query})
    result: list[dict[str, Any]] = response.json()["data"]["result"] if response.status_code == 200 else []
    return result


async def test_prometheus_scrapes_the_memory_of_a_running_capsule(
    jp_serverapp: Any,
    http_server: Any,  # the server listening on jp_http_port, for Prometheus to reach
    jp_http_port: int,
    jp_base_url: str,
    tiny_notebook: Path,  # noqa: F811
    tiny_capsule: dict[str, Any],  # noqa: F811
    shared_cache: Path,
    tmp_path: Path,
) -> None:
    require(shutil.which("prometheus") is not None, "Debian's prometheus package (apt-get install prometheus)")
    launched = ok(envcapsule("launch", tiny_notebook, "--memory", "256m", "--no-browser", "--json", cache=shared_cache)).json()
    web = free_port()
    config = _config(tmp_path, jp_http_port, jp_base_url, jp_serverapp.identity_provider.token)
    log = (tmp_path / "prometheus.log").open("wb")  # read it when the test fails
    prometheus = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{web}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        samples: list[dict[str, Any]] = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web}", timeout=5) as client:
            for _ in range(SCRAPE_BUDGET_SECONDS * 2):  # the Jupyter server answers the scrapes on this loop meanwhile
                await asyncio.sleep(0.5)
                try:
                    samples = await _query(
                        client, f'envcapsule_container_memory_bytes{{container="{launched["container"][:12]}"}}'
                    )
                except httpx.TransportError:
                    continue  # Prometheus is still starting
                if samples:
                    break
            assert samples, "Prometheus never stored a sample of envcapsule_container_memory_bytes for the container"
            assert samples[0]["metric"]["name"] == launched["name"]
            assert samples[0]["metric"]["notebook"] == "tiny.ipynb"
            assert 0 < float(samples[0]["value"][1]) < 256 * 2**20
            limit = await _query(client, "envcapsule_container_memory_limit_bytes")
            assert [float(s["value"][1]) for s in limit if s["metric"]["name"] == launched["name"]] == [256 * 2**20]
            up = await _query(client, 'up{job="envcapsule"}')
            assert [s["value"][1] for s in up] == ["1"]
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
        log.close()
        ok(envcapsule("stop", launched["name"], cache=shared_cache))
