"""Jobs over HTTP with a fake core: start (202), progress, finish, cancel, 409 on a second build, the event stream."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

from envcapsule.cuda import gpu_refusal
from envcapsule.engine import EngineError
from envcapsule.errors import BaseImageError, CapsuleError
from tests.server.conftest import Api, ended, payload, start, started
from tests.server.fake_core import RESULTS, FakeCore
from tests.server.spec import properties


def parse_events(stream: str) -> list[tuple[str, Any]]:
    events = []
    for block in stream.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_a_build_job_runs_from_start_to_finish(api: Api, fake_core: FakeCore, notebook: str, jp_root_dir: Any) -> None:
    response = await api("build", "POST", {"path": notebook, "base_image": "python:3.11-slim"})
    assert response.code == 202
    job = payload(response)["job"]
    assert job == {"id": job["id"], "kind": "build", "path": notebook, "state": "running"}
    assert response.headers["Location"].endswith(f"/envcapsule/api/jobs/{job['id']}")

    await started(fake_core, "build")
    running = payload(await api(f"jobs/{job['id']}"))
    assert running == {
        **job,
        "step": "build: first step",
        "completed": 1,
        "total": 2,
        "log": ["build: first step", "build: a log line"],
        "result": None,
        "error": None,
        "error_code": None,
    }
    assert set(running) == properties("Job")
    status = payload(await api("status", params={"path": notebook}))
    assert status["jobs"] == [job]

    fake_core.release("build")
    done = await ended(api, job["id"])
    assert done["state"] == "done"
    assert done["result"] == RESULTS["build"]
    assert (done["completed"], done["log"][-1], done["error"]) == (2, "build: finished", None)
    assert fake_core.calls[0] == (
        "build",
        {"notebook": jp_root_dir.resolve() / notebook, "python": sys.executable, "base_image": "python:3.11-slim"},
    )
    assert payload(await api("status", params={"path": notebook}))["jobs"] == []


async def test_a_build_for_arm64_hands_the_platform_to_the_core(
    api: Api, fake_core: FakeCore, notebook: str, jp_root_dir: Any
) -> None:
    job = await start(api, "build", {"path": notebook, "platform": "linux/arm64"})
    fake_core.release("build")
    assert (await ended(api, job["id"]))["state"] == "done"
    where = {"notebook": jp_root_dir.resolve() / notebook, "python": sys.executable, "base_image": None}
    assert fake_core.calls == [("build", {**where, "platform": "linux/arm64"})]


async def test_launch_result_carries_the_url_container_and_name(api: Api, fake_core: FakeCore, notebook: str) -> None:
    job = await start(api, "launch", {"path": notebook})
    fake_core.release("launch")
    result = (await ended(api, job["id"]))["result"]
    assert {"url", "container", "name"} <= result.keys()


async def test_launch_hands_the_gpus_it_is_asked_for_to_the_core(
    api: Api, fake_core: FakeCore, notebook: str, jp_root_dir: Any
) -> None:
    job = await start(api, "launch", {"path": notebook, "gpus": " none "})
    fake_core.release("launch")
    assert (await ended(api, job["id"]))["state"] == "done"
    job = await start(api, "launch", {"path": notebook})
    await ended(api, job["id"])
    where = {"notebook": jp_root_dir.resolve() / notebook, "python": sys.executable, "base_image": None}
    assert fake_core.calls == [("launch", {**where, "gpus": gpus, "memory": None, "cpus": None}) for gpus in ("none", None)]


async def test_launch_hands_the_limits_it_is_asked_for_to_the_core(api: Api, fake_core: FakeCore, notebook: str) -> None:
    job = await start(api, "launch", {"path": notebook, "memory": "4g", "cpus": 1.5})
    fake_core.release("launch")
    await ended(api, job["id"])
    assert [(arguments["memory"], arguments["cpus"]) for _, arguments in fake_core.calls] == [("4g", 1.5)]


@pytest.mark.parametrize(("field", "value"), [("memory", 4), ("memory", ""), ("cpus", "2"), ("cpus", True)])
async def test_launch_refuses_limits_of_the_wrong_type(
    api: Api, fake_core: FakeCore, notebook: str, field: str, value: Any
) -> None:
    response = await api("launch", "POST", {"path": notebook, field: value})
    assert response.code == 400 and f"The field {field!r} must be" in payload(response)["error"]
    assert fake_core.calls == []


@pytest.mark.parametrize("gpus", [0, 2, True, ["all"], {"count": 1}, ""])
async def test_launch_refuses_gpus_that_are_not_a_string(api: Api, fake_core: FakeCore, notebook: str, gpus: Any) -> None:
    response = await api("launch", "POST", {"path": notebook, "gpus": gpus})
    assert (response.code, payload(response)) == (
        400,
        {"error": """The field 'gpus' must be a string such as "none", "all", "2" or "device=0,1" when given."""},
    )
    assert fake_core.calls == []


async def test_a_gpu_refusal_fails_the_launch_with_the_gpu_code_then_the_cpu_launch_runs(
    api: Api, fake_core: FakeCore, notebook: str
) -> None:
    refusal = gpu_refusal('could not select device driver "" with capabilities: [[gpu]]')
    assert refusal is not None
    fake_core.failures["launch"] = refusal
    job = await start(api, "launch", {"path": notebook})
    failed = await ended(api, job["id"])
    assert (failed["state"], failed["error_code"]) == ("failed", "gpu")
    assert failed["error"].startswith("The Docker engine cannot give containers GPUs")
    assert failed["error"].endswith(", or launch on the CPU instead.")
    assert "--gpus" not in failed["error"]
    events = parse_events((await api(f"jobs/{job['id']}/events")).body.decode())
    assert events[-1] == ("failed", failed)

    del fake_core.failures["launch"]
    fake_core.release("launch")
    on_cpu = await start(api, "launch", {"path": notebook, "gpus": "none"})
    assert (await ended(api, on_cpu["id"]))["state"] == "done"
    assert [arguments["gpus"] for kind, arguments in fake_core.calls] == [None, "none"]


async def test_a_second_build_of_the_same_capsule_is_409_with_the_running_job(
    api: Api, fake_core: FakeCore, notebook: str, jp_root_dir: Any
) -> None:
    first = await start(api, "build", {"path": notebook})
    for kind in ("build", "snapshot", "launch", "verify"):
        response = await api(kind, "POST", {"path": notebook})
        assert response.code == 409
        body = payload(response)
        assert body["job"] == first["id"]
        assert f"A build job ({first['id']}) is already running" in body["error"]

    (jp_root_dir / "other.ipynb").write_text((jp_root_dir / notebook).read_text())
    await start(api, "build", {"path": "other.ipynb"})  # another capsule: no conflict

    fake_core.release("build")
    await ended(api, first["id"])
    await start(api, "build", {"path": notebook})  # once it ended, the capsule is free again


async def test_cancelling_a_job_unwinds_its_core_call(api: Api, fake_core: FakeCore, notebook: str) -> None:
    job = await start(api, "verify", {"path": notebook})
    await started(fake_core, "verify")

    response = await api(f"jobs/{job['id']}", "DELETE")
    assert response.code == 202
    assert payload(response)["id"] == job["id"]

    fake_core.release("verify")  # the core's next report raises the cancellation
    cancelled = await ended(api, job["id"])
    assert cancelled["state"] == "cancelled"
    assert cancelled["result"] is None
    assert fake_core.unwound == ["verify"]

    again = await api(f"jobs/{job['id']}", "DELETE")
    assert again.code == 409
    assert "already ended (cancelled)" in payload(again)["error"]


async def test_unknown_jobs_are_404(api: Api, fake_core: FakeCore) -> None:
    for method, route in (("GET", "jobs/feedface"), ("DELETE", "jobs/feedface"), ("GET", "jobs/feedface/events")):
        response = await api(route, method)
        assert response.code == 404
        assert "There is no job feedface" in payload(response)["error"]


@pytest.mark.parametrize(
    ("failure", "sentence", "code"),
    [
        (
            EngineError("No Docker engine was found; install Docker Engine."),
            "No Docker engine was found; install Docker Engine.",
            "engine",
        ),
        (
            BaseImageError("The base image mirror/python:3.11 is not here", "make it or choose another with {option:base_image}"),
            "The base image mirror/python:3.11 is not here; make it or choose another with the base image setting.",
            "base-image",
        ),
        (RuntimeError("boom"), "The launch job failed unexpectedly (RuntimeError: boom); see the Jupyter server's log.", None),
    ],
)
async def test_a_failed_job_keeps_its_sentence_code_and_log(
    api: Api, fake_core: FakeCore, notebook: str, failure: BaseException, sentence: str, code: str | None
) -> None:
    fake_core.failures["launch"] = failure
    job = await start(api, "launch", {"path": notebook})
    failed = await ended(api, job["id"])
    assert failed["state"] == "failed"
    assert (failed["error"], failed["error_code"]) == (sentence, code)
    assert failed["log"] == ["launch: first step", "launch: a log line"]


async def test_the_event_stream_sends_progress_and_log_then_the_end(
    api: Api, fake_core: FakeCore, notebook: str, jp_serverapp: Any
) -> None:
    job = await start(api, "build", {"path": notebook})
    await started(fake_core, "build")
    response_task = asyncio.ensure_future(api(f"jobs/{job['id']}/events", request_timeout=20))
    registered = jp_serverapp.web_app.settings["envcapsule"].jobs.get(job["id"])
    while registered.listeners == 0:
        await asyncio.sleep(0.01)
    fake_core.release("build")
    response = await response_task

    assert response.code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    events = parse_events(response.body.decode())
    assert [name for name, _ in events] == ["progress", "log", "log", "progress", "log", "done"]
    assert events[0][1] == {"step": "build: first step", "completed": 1, "total": 2}
    assert [data["line"] for name, data in events if name == "log"] == [
        "build: first step",
        "build: a log line",
        "build: finished",
    ]
    assert events[3][1] == {"step": "build: first step", "completed": 2, "total": 2, "item": "two"}
    assert events[-1][1]["state"] == "done"
    assert events[-1][1]["result"] == RESULTS["build"]
    assert registered.listeners == 0


async def test_the_event_stream_of_an_ended_job_replays_it_and_ends(api: Api, fake_core: FakeCore, notebook: str) -> None:
    fake_core.failures["snapshot"] = CapsuleError("The folder work does not exist; create it.")
    job = await start(api, "snapshot", {"path": notebook})
    await ended(api, job["id"])
    events = parse_events((await api(f"jobs/{job['id']}/events")).body.decode())
    assert [name for name, _ in events] == ["progress", "log", "log", "failed"]
    assert events[-1][1]["error"] == "The folder work does not exist; create it."


async def test_the_event_stream_lets_go_of_a_client_that_disconnects(
    fake_core: FakeCore,
    notebook: str,
    api: Api,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    job = await start(api, "build", {"path": notebook})
    await started(fake_core, "build")
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    writer.write(
        f"GET {jp_base_url}envcapsule/api/jobs/{job['id']}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {jp_auth_header['Authorization']}\r\n\r\n".encode()
    )
    await writer.drain()
    assert b"event: progress" in await reader.readuntil(b"event: progress")
    registered = jp_serverapp.web_app.settings["envcapsule"].jobs.get(job["id"])
    assert registered.listeners == 1
    writer.close()
    await writer.wait_closed()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while registered.listeners and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert registered.listeners == 0
    assert registered.state == "running"  # a reader leaving does not cancel the job


async def test_stop_answers_with_the_stopped_ids(api: Api, fake_core: FakeCore) -> None:
    response = await api("stop", "POST", {"container": "c0ffee"})
    assert (response.code, payload(response)) == (200, {"stopped": ["c0ffee"]})
    assert (await api("stop", "POST", {})).code == 400
    fake_core.failures["stop"] = EngineError("The Docker engine at unix:///var/run/docker.sock is installed but not running.")
    down = await api("stop", "POST", {"container": "c0ffee"})
    assert down.code == 503
    assert payload(down) == {
        "error": "The Docker engine at unix:///var/run/docker.sock is installed but not running.",
        "code": "engine",
    }


async def test_share_answers_links_only(api: Api, fake_core: FakeCore, notebook: str) -> None:
    response = await api("share", params={"path": notebook})
    assert response.code == 200
    assert payload(response) == {
        "link": None,
        "badge": None,
        "no_link": "analysis.ipynb is not in a git repository.",
        "warnings": [],
    }


async def test_status_errors_are_sentences(api: Api, fake_core: FakeCore, notebook: str) -> None:
    fake_core.failures["status"] = CapsuleError("capsule.toml was edited by hand; snapshot again.")
    response = await api("status", params={"path": notebook})
    assert (response.code, payload(response)) == (
        400,
        {"error": "capsule.toml was edited by hand; snapshot again.", "code": "capsule"},
    )
    fake_core.failures["status"] = RuntimeError("a bug")
    response = await api("status", params={"path": notebook})
    assert response.code == 500
    assert "failed unexpectedly" in payload(response)["error"]
