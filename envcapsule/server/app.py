"""The extension application: its settings (configurable), the core and job registry it builds once, its routes."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int

from envcapsule.server.core import Core, LocalCore
from envcapsule.server.handlers import routes
from envcapsule.server.jobs import JobRegistry
from envcapsule.server.metrics import Metrics


class EnvcapsuleApp(ExtensionApp):
    """Handlers find this object as ``settings["envcapsule"]`` and call ``core`` and ``jobs`` through it."""

    name = "envcapsule"  # a plain string: the server looks the running app up by the class's name

    live_cache_seconds = Float(
        2.0,
        help="How long the kernel's probed facts (and a failed engine connection) are reused by status requests; 0 probes every time.",
    ).tag(config=True)
    engine_timeout = Float(3.0, help="Seconds a status request waits for the Docker engine before reporting it unreachable.").tag(
        config=True
    )
    job_workers = Int(4, help="How many snapshot, build, launch and verify jobs run at the same time.").tag(config=True)
    keep_finished_jobs = Int(100, help="How many finished jobs are kept for GET jobs/<id>.").tag(config=True)

    core: Core
    jobs: JobRegistry
    metrics: Metrics

    def initialize_settings(self) -> None:
        self.core = LocalCore(live_cache_seconds=self.live_cache_seconds, engine_timeout=self.engine_timeout)
        self.metrics = Metrics(lambda: self.core.running())  # the core in place at scrape time
        self.jobs = JobRegistry(self.job_workers, self.keep_finished_jobs, log=self.log, on_finish=self.metrics.job_finished)

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes())

    async def stop_extension(self) -> None:
        self.jobs.shutdown()
        self.core.close()
