"""REST handlers: each maps one HTTP request onto a core call or the job registry; errors become JSON in ``base``.

Routes live under ``<base_url>envcapsule/api/`` and are described in ``openapi.yaml`` beside
this file. No envcapsule logic lives here: see ``core.py`` and ``jobs.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from jupyter_server.auth.decorator import authorized
from tornado import web

from envcapsule.server.base import API, ApiError, EnvcapsuleHandler
from envcapsule.server.events import JobEventsHandler
from envcapsule.server.jobs import JobConflict, Work
from envcapsule.server.paths import Notebook

GPUS_EXPECTED = 'a string such as "none", "all", "2" or "device=0,1"'


class StatusHandler(EnvcapsuleHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = await self.notebook(self.get_query_argument("path", ""))
        python = await self.interpreter(notebook)
        status = await self.call(self.core.status, notebook.path, python)
        jobs = [job.summary() for job in self.jobs.running(notebook.relative)]
        self.reply({**status, "path": notebook.relative, "jobs": jobs})


class UsageHandler(EnvcapsuleHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = await self.notebook(self.get_query_argument("path", ""))
        self.reply({**await self.call(self.core.usage, notebook.path), "path": notebook.relative})


class ShareHandler(EnvcapsuleHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = await self.notebook(self.get_query_argument("path", ""))
        self.reply(await self.call(self.core.share, notebook.path))


class StopHandler(EnvcapsuleHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        container = self.optional_text(self.body(), "container")
        if container is None:
            raise ApiError(400, 'No container was given; send {"container": "<id or name>"} from the status\'s containers.')
        self.reply({"stopped": await self.call(self.core.stop, [container])})


class JobStartHandler(EnvcapsuleHandler):
    """POST {"path", ...} starts a job on the notebook's capsule and answers 202 at once."""

    kind: ClassVar[str]

    def work(self, notebook: Notebook, python: str | None, body: dict[str, Any]) -> Work:
        """The job's core call, with the body's other fields read (and refused with 400) before the job starts."""
        raise NotImplementedError

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        notebook = await self.notebook(body.get("path"))
        python = await self.interpreter(notebook)
        work = self.work(notebook, python, body)
        try:
            job = self.jobs.start(self.kind, notebook.relative, notebook.capsule_key, work)
        except JobConflict as conflict:
            raise ApiError(409, str(conflict), job=conflict.running.id) from None
        self.set_header("Location", f"{self.base_url}{API}/jobs/{job.id}")
        self.reply({"job": job.summary()}, status=202)


class SnapshotHandler(JobStartHandler):
    kind = "snapshot"

    def work(self, notebook: Notebook, python: str | None, body: dict[str, Any]) -> Work:
        core = self.core
        return lambda progress: core.snapshot(notebook.path, python, progress)


class BuildHandler(JobStartHandler):
    kind = "build"

    def work(self, notebook: Notebook, python: str | None, body: dict[str, Any]) -> Work:
        core = self.core
        base_image = self.optional_text(body, "base_image")
        platform = self.optional_text(body, "platform")
        return lambda progress: core.build(notebook.path, python, base_image, progress, platform=platform)


class LaunchHandler(JobStartHandler):
    kind = "launch"

    def work(self, notebook: Notebook, python: str | None, body: dict[str, Any]) -> Work:
        core = self.core
        base_image = self.optional_text(body, "base_image")
        gpus = self.optional_text(body, "gpus", expected=GPUS_EXPECTED)
        memory = self.optional_text(body, "memory", expected='a memory size such as "4g" or "512m"')
        cpus = body.get("cpus")
        if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, int | float)):
            raise ApiError(400, "The field 'cpus' must be a number of CPUs such as 2 or 0.5 when given.")
        return lambda progress: core.launch(notebook.path, python, base_image, gpus, progress, memory, cpus)


class VerifyHandler(JobStartHandler):
    kind = "verify"

    def work(self, notebook: Notebook, python: str | None, body: dict[str, Any]) -> Work:
        core = self.core
        base_image = self.optional_text(body, "base_image")
        return lambda progress: core.verify(notebook.path, base_image, progress)


class MetricsHandler(EnvcapsuleHandler):
    """The Prometheus exposition; scraped with the server's token as a bearer token, like every route."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from prometheus_client import CONTENT_TYPE_LATEST

        body = await self.call(self.extension.metrics.exposition)
        self.finish(body, set_content_type=CONTENT_TYPE_LATEST)


class JobHandler(EnvcapsuleHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.reply(self.job(job_id).to_json())

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        job = self.job(job_id)
        if job.finished:
            raise ApiError(409, f"The {job.kind} job {job.id} has already ended ({job.state}); there is nothing to cancel.")
        job.cancel()
        self.reply(job.summary(), status=202)


def routes() -> list[tuple[str, type[EnvcapsuleHandler]]]:
    return [
        (f"{API}/status", StatusHandler),
        (f"{API}/snapshot", SnapshotHandler),
        (f"{API}/build", BuildHandler),
        (f"{API}/launch", LaunchHandler),
        (f"{API}/stop", StopHandler),
        (f"{API}/usage", UsageHandler),
        (f"{API}/verify", VerifyHandler),
        (f"{API}/share", ShareHandler),
        (f"{API}/jobs/([^/]+)", JobHandler),
        (f"{API}/jobs/([^/]+)/events", JobEventsHandler),
        ("envcapsule/metrics", MetricsHandler),
    ]
