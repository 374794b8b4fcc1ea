"""The job registry on its own: threads, progress, the log tail, cancellation, one job per capsule."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from envcapsule.cuda import CudaFacts, GpuError, driver_check
from envcapsule.errors import EnvcapsuleError
from envcapsule.progress import Progress
from envcapsule.server.jobs import LOG_TAIL, Job, JobConflict, JobRegistry


@pytest.fixture
def registry() -> Iterator[JobRegistry]:
    jobs = JobRegistry(workers=2, keep_finished=3)
    yield jobs
    jobs.shutdown()


def wait_until_ended(job: Job, timeout: float = 5.0) -> Job:
    deadline = time.monotonic() + timeout
    while not job.finished:
        assert time.monotonic() < deadline, f"{job.kind} did not end"
        time.sleep(0.005)
    return job


def test_a_job_reports_steps_items_and_log_lines_then_its_result(registry: JobRegistry) -> None:
    def work(progress: Progress) -> dict[str, Any]:
        progress.step("Looking up files", total=2)
        progress.advance("numpy")
        progress.advance("pandas")
        progress.log("all found")
        return {"capsule_hash": "abc"}

    job = wait_until_ended(registry.start("snapshot", "a.ipynb", "a.capsule", work))
    assert job.to_json() == {
        "id": job.id,
        "kind": "snapshot",
        "path": "a.ipynb",
        "state": "done",
        "step": "Looking up files",
        "completed": 2,
        "total": 2,
        "log": ["Looking up files", "all found"],
        "result": {"capsule_hash": "abc"},
        "error": None,
        "error_code": None,
    }
    names = [event.name for event in job.events_after(0)]
    assert names == ["progress", "log", "progress", "progress", "log", "done"]


def test_the_log_keeps_the_last_lines(registry: JobRegistry) -> None:
    def work(progress: Progress) -> dict[str, Any]:
        for number in range(LOG_TAIL + 20):
            progress.log(f"line {number}")
        return {}

    job = wait_until_ended(registry.start("build", "a.ipynb", "a.capsule", work))
    log = job.to_json()["log"]
    assert len(log) == LOG_TAIL
    assert log[-1] == f"line {LOG_TAIL + 19}"


def test_an_envcapsule_error_fails_the_job_with_its_sentence(registry: JobRegistry) -> None:
    def work(progress: Progress) -> dict[str, Any]:
        raise EnvcapsuleError("The base image python:9 cannot be pulled; pass another --base-image.")

    job = wait_until_ended(registry.start("build", "a.ipynb", "a.capsule", work))
    assert (job.state, job.error) == ("failed", "The base image python:9 cannot be pulled; pass another --base-image.")
    assert job.error_code == "error"


def test_a_gpu_refusal_is_marked_and_offers_the_cpu_in_the_api_s_words(registry: JobRegistry) -> None:
    refusal = GpuError(driver_check(CudaFacts(), "12.4", "525.60.13").unrendered())
    assert str(refusal).endswith("install NVIDIA driver 525.60.13 or newer, or pass `--gpus none` to run on the CPU.")

    def work(progress: Progress) -> dict[str, Any]:
        raise refusal

    job = wait_until_ended(registry.start("launch", "a.ipynb", "a.capsule", work))
    assert (job.state, job.error_code) == ("failed", "gpu")
    assert job.error == str(refusal).replace("pass `--gpus none` to run on the CPU", "launch on the CPU instead")
    assert job.to_json()["error_code"] == "gpu"


def test_one_job_per_capsule_at_a_time(registry: JobRegistry) -> None:
    release = threading.Event()

    def work(progress: Progress) -> dict[str, Any]:
        release.wait(5)
        return {}

    first = registry.start("build", "a.ipynb", "a.capsule", work)
    with pytest.raises(JobConflict) as conflict:
        registry.start("launch", "a.ipynb", "a.capsule", work)
    assert conflict.value.running is first
    other = registry.start("build", "b.ipynb", "b.capsule", work)
    assert registry.running() == [first, other]
    assert registry.running("b.ipynb") == [other]
    release.set()
    wait_until_ended(first)
    wait_until_ended(other)


def test_cancel_raises_at_the_next_report_and_the_work_cleans_up(registry: JobRegistry) -> None:
    reporting, cleaned = threading.Event(), threading.Event()

    def work(progress: Progress) -> dict[str, Any]:
        try:
            progress.step("Building", total=None)
            reporting.set()
            while True:
                progress.log("still building")
                time.sleep(0.005)
        finally:
            cleaned.set()

    job = registry.start("build", "a.ipynb", "a.capsule", work)
    assert reporting.wait(5)
    job.cancel()
    wait_until_ended(job)
    assert job.state == "cancelled"
    assert cleaned.is_set()
    assert job.events_after(0)[-1].name == "cancelled"


def test_cancelling_a_queued_job_ends_it_at_once(registry: JobRegistry) -> None:
    release = threading.Event()
    ran: list[str] = []

    def blocker(progress: Progress) -> dict[str, Any]:
        release.wait(5)
        return {}

    def queued(progress: Progress) -> dict[str, Any]:
        ran.append("queued")
        return {}

    blockers = [registry.start("build", f"{n}.ipynb", f"{n}.capsule", blocker) for n in range(2)]
    waiting = registry.start("snapshot", "q.ipynb", "q.capsule", queued)
    waiting.cancel()
    assert waiting.state == "cancelled"
    release.set()
    for job in blockers:
        wait_until_ended(job)
    time.sleep(0.05)
    assert ran == []


def test_listeners_hear_every_change(registry: JobRegistry) -> None:
    heard: list[int] = []
    job = Job("build", "a.ipynb", "a.capsule")
    job.add_listener(lambda: heard.append(1))
    job.record_step("one", 1)
    job.record_log("line")
    job.finish("done", result={})
    assert len(heard) == 3
    events, seq = job.replay()
    assert [event.name for event in events] == ["progress", "log", "log", "done"]
    assert job.events_after(seq) == []


def test_old_finished_jobs_are_forgotten(registry: JobRegistry) -> None:
    jobs = [wait_until_ended(registry.start("snapshot", f"{n}.ipynb", f"{n}.capsule", lambda progress: {})) for n in range(6)]
    registry.start("snapshot", "last.ipynb", "last.capsule", lambda progress: {})
    assert registry.get(jobs[0].id) is None
    assert registry.get(jobs[-1].id) is jobs[-1]


def test_shutdown_cancels_running_jobs(registry: JobRegistry) -> None:
    def work(progress: Progress) -> dict[str, Any]:
        while True:
            progress.log("working")
            time.sleep(0.005)

    job = registry.start("verify", "a.ipynb", "a.capsule", work)
    registry.shutdown()
    wait_until_ended(job)
    assert job.state == "cancelled"
    late = registry.start("build", "b.ipynb", "b.capsule", work)
    assert late.state == "failed"
    assert "shutting down" in (late.error or "")
