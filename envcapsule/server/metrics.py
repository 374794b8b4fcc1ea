"""``GET <base_url>envcapsule/metrics``: the Prometheus text format, written with prometheus_client.

Each scrape asks the Docker engine what envcapsule's running containers use now (one
``stats`` call per container, all at once); jobs are counted and timed as they finish. The
metric names are fixed: docs/monitoring.md and docs/grafana-envcapsule.json use exactly these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

if TYPE_CHECKING:
    from envcapsule.api import Running
    from envcapsule.server.jobs import Job

CONTAINER_LABELS = ("container", "name", "notebook")
# Builds run from seconds (reused) to many minutes (a cold CUDA capsule).
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)


class Metrics:
    """The exposition: job counters and histograms kept here, the containers' use read from ``running`` at each scrape."""

    def __init__(self, running: Callable[[], Running]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs = Counter(
            "envcapsule_jobs",
            "Snapshot, build, launch and verify jobs that ended, by outcome",
            ("kind", "outcome"),
            registry=self.registry,
        )
        self.durations = Histogram(
            "envcapsule_job_duration_seconds",
            "How long jobs ran, by kind",
            ("kind",),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.verifies = Counter(
            "envcapsule_verify_outcomes", "Verify results: reproduced or not", ("outcome",), registry=self.registry
        )
        self.registry.register(_Containers(running))

    def job_finished(self, job: Job, seconds: float) -> None:
        self.jobs.labels(job.kind, job.state).inc()
        self.durations.labels(job.kind).observe(seconds)
        if job.kind == "verify" and job.state == "done" and job.result is not None:
            self.verifies.labels("reproduced" if job.result.get("reproduced") else "differs").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Containers:
    """Gauges for the containers running at scrape time; an unreachable engine is envcapsule_engine_up 0, not an error."""

    def __init__(self, running: Callable[[], Running]) -> None:
        self._running = running

    def describe(self) -> list[Any]:
        return []  # collected fresh at each scrape, never described ahead

    def collect(self) -> Iterator[Any]:
        from envcapsule.errors import EnvcapsuleError

        engine = GaugeMetricFamily("envcapsule_engine_up", "1 when the Docker engine answered this scrape")
        try:
            running = self._running()
        except EnvcapsuleError:
            engine.add_metric([], 0)
            yield engine
            return
        engine.add_metric([], 1)
        yield engine
        count = GaugeMetricFamily("envcapsule_running_containers", "envcapsule containers serving a notebook now")
        count.add_metric([], len(running.containers))
        yield count
        cpu = CounterMetricFamily(
            "envcapsule_container_cpu_seconds", "CPU time a container used since it started", labels=CONTAINER_LABELS
        )
        memory = GaugeMetricFamily("envcapsule_container_memory_bytes", "Memory a container uses now", labels=CONTAINER_LABELS)
        limit = GaugeMetricFamily(
            "envcapsule_container_memory_limit_bytes", "A container's --memory limit", labels=CONTAINER_LABELS
        )
        cpus = GaugeMetricFamily("envcapsule_container_cpus_limit", "A container's --cpus limit", labels=CONTAINER_LABELS)
        uptime = GaugeMetricFamily(
            "envcapsule_container_uptime_seconds", "Seconds since a container started", labels=CONTAINER_LABELS
        )
        for item in running.containers:
            used = running.usage.get(item.container)
            if used is None:
                continue  # it exited between the listing and its stats
            labels = [item.container[:12], item.name, item.notebook or ""]
            cpu.add_metric(labels, used.cpu_seconds)
            memory.add_metric(labels, used.memory_bytes)
            uptime.add_metric(labels, used.uptime_seconds)
            if used.memory_limit_bytes is not None:
                limit.add_metric(labels, used.memory_limit_bytes)
            if used.cpus_limit is not None:
                cpus.add_metric(labels, used.cpus_limit)
        yield from (cpu, memory, limit, cpus, uptime)
