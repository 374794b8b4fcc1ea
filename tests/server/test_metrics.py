"""GET envcapsule/metrics: the Prometheus exposition, parsed back with prometheus_client's own parser, behind the token."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from envcapsule.engine import EngineError
from tests.server.conftest import Api, payload
from tests.server.fake_core import FakeCore


def _samples(body: bytes) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


async def _scrape(jp_fetch: Any, **kwargs: Any) -> Any:
    return await jp_fetch("envcapsule", "metrics", raise_error=False, **kwargs)


async def test_a_scrape_names_each_running_container_and_what_it_uses(jp_fetch: Any, fake_core: FakeCore) -> None:
    response = await _scrape(jp_fetch)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = _samples(response.body)
    assert samples["envcapsule_engine_up"][0].value == 1
    assert samples["envcapsule_running_containers"][0].value == 1
    memory = samples["envcapsule_container_memory_bytes"][0]
    assert memory.labels == {"container": "c0ffeec0ffee", "name": "envcapsule-analysis-1", "notebook": "analysis.ipynb"}
    assert memory.value == 150 * 2**20
    assert samples["envcapsule_container_memory_limit_bytes"][0].value == 2**30
    assert samples["envcapsule_container_cpu_seconds_total"][0].value == 3.25
    assert samples["envcapsule_container_uptime_seconds"][0].value == 90


async def test_an_unreachable_engine_is_engine_up_0_not_an_error(jp_fetch: Any, fake_core: FakeCore) -> None:
    fake_core.failures["running"] = EngineError("The Docker engine is not running.")
    samples = _samples((await _scrape(jp_fetch)).body)
    assert samples["envcapsule_engine_up"][0].value == 0
    assert "envcapsule_container_memory_bytes" not in samples


async def test_a_finished_verify_is_counted_and_timed(api: Api, jp_fetch: Any, fake_core: FakeCore, notebook: str) -> None:
    job = payload(await api("verify", "POST", {"path": notebook}))["job"]
    fake_core.release("verify")
    for _ in range(400):  # the job ends on its worker thread
        if payload(await api(f"jobs/{job['id']}"))["state"] == "done":
            break
        await asyncio.sleep(0.05)
    samples = _samples((await _scrape(jp_fetch)).body)
    jobs = {(s.labels["kind"], s.labels["outcome"]): s.value for s in samples["envcapsule_jobs_total"]}
    assert jobs == {("verify", "done"): 1}
    assert [s.value for s in samples["envcapsule_verify_outcomes_total"]] == [1]
    assert [s.labels["outcome"] for s in samples["envcapsule_verify_outcomes_total"]] == ["reproduced"]
    assert [s.value for s in samples["envcapsule_job_duration_seconds_count"]] == [1]


async def test_a_scrape_without_a_token_is_refused(jp_fetch: Any, fake_core: FakeCore) -> None:
    response = await _scrape(jp_fetch, headers={"Authorization": ""})
    assert response.code == 403
    assert fake_core.calls == []


async def test_the_dashboard_and_the_docs_use_exactly_the_exposed_names(
    api: Api, jp_fetch: Any, fake_core: FakeCore, notebook: str
) -> None:
    import json
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs"
    job = payload(await api("verify", "POST", {"path": notebook}))["job"]
    fake_core.release("verify")
    for _ in range(400):
        if payload(await api(f"jobs/{job['id']}"))["state"] == "done":
            break
        await asyncio.sleep(0.05)
    body = (await _scrape(jp_fetch)).body.decode()
    exposed = set(_samples(body.encode()))
    # prometheus_client adds a <name>_created series beside each counter and histogram: not a metric of its own.
    families = {family.name for family in text_string_to_metric_families(body) if not family.name.endswith("_created")}

    dashboard = json.loads((docs / "grafana-envcapsule.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"envcapsule_\w+", target["expr"])
    }
    assert queried and queried <= exposed, queried - exposed
    documented = set(re.findall(r"`(envcapsule_\w+)`", (docs / "monitoring.md").read_text()))
    # A counter's family is named without _total; the docs name it as PromQL does.
    assert {name.removesuffix("_total") for name in documented} == families
