"""What envcapsule's running containers use now: CPU, memory against its limit, uptime.

One ``stats(stream=False)`` per container, all at once on a few threads, since the engine takes
about a second per call to sample CPU twice for a percentage; without the percentage (the
metrics, where Prometheus takes the rate of the CPU seconds) one sample answers at once. A
container that exits between the listing and its stats call is left out, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docker import DockerClient

MAX_THREADS = 8


@dataclass(frozen=True)
class Usage:
    container: str
    cpu_percent: float | None  # of one CPU: 200.0 is two CPUs busy, as `docker stats` shows it; None when not sampled
    cpu_seconds: float  # CPU time used since the start
    memory_bytes: int  # in use, page cache that can be reclaimed left out (as `docker stats` counts it)
    memory_limit_bytes: int | None  # the --memory limit, None when the container has none
    cpus_limit: float | None  # the --cpus limit, None when the container has none
    started: str  # ISO 8601, UTC
    uptime_seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def usage_of(
    client: DockerClient, containers: Sequence[str], now: datetime | None = None, *, cpu_percent: bool = True
) -> dict[str, Usage]:
    """The usage of each container id that still runs, by id; ``cpu_percent=False`` skips the second CPU sample."""
    if not containers:
        return {}
    moment = now or datetime.now(timezone.utc)
    with ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(containers))) as pool:
        found = pool.map(lambda container: _usage(client, container, moment, cpu_percent), containers)
        return {usage.container: usage for usage in found if usage is not None}


def _usage(client: DockerClient, container: str, now: datetime, cpu_percent: bool) -> Usage | None:
    from docker.errors import APIError, NotFound

    try:
        inspect = client.api.inspect_container(container)
        if not inspect.get("State", {}).get("Running"):
            return None
        stats = (
            client.api.stats(container, stream=False) if cpu_percent else client.api.stats(container, stream=False, one_shot=True)
        )
    except (NotFound, APIError):
        return None  # it exited or was removed meanwhile
    return usage_from(container, inspect, stats, now, cpu_percent=cpu_percent)


def usage_from(
    container: str, inspect: Mapping[str, Any], stats: Mapping[str, Any], now: datetime, *, cpu_percent: bool = True
) -> Usage | None:
    """A Usage from the engine's inspect and one-shot stats answers; None for a container that stopped meanwhile."""
    memory = stats.get("memory_stats") or {}
    if "usage" not in memory:
        return None  # the engine answers a stopped container with empty stats
    host = inspect.get("HostConfig") or {}
    started = _parse_time(str(inspect.get("State", {}).get("StartedAt", ""))) or now
    cpu, previous = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    total = int((cpu.get("cpu_usage") or {}).get("total_usage", 0))
    return Usage(
        container=container,
        cpu_percent=round(_cpu_percent(cpu, previous), 2) if cpu_percent else None,
        cpu_seconds=total / 1e9,
        memory_bytes=_memory_in_use(memory),
        memory_limit_bytes=int(host["Memory"]) if host.get("Memory") else None,
        cpus_limit=int(host["NanoCpus"]) / 1e9 if host.get("NanoCpus") else None,
        started=started.isoformat().replace("+00:00", "Z"),
        uptime_seconds=max(0.0, (now - started).total_seconds()),
    )


def _cpu_percent(cpu: Mapping[str, Any], previous: Mapping[str, Any]) -> float:
    """The engine's own formula (the `docker stats` CLI's): the container's share of the host's CPU time, times its CPUs."""
    used = int((cpu.get("cpu_usage") or {}).get("total_usage", 0)) - int((previous.get("cpu_usage") or {}).get("total_usage", 0))
    system = int(cpu.get("system_cpu_usage", 0)) - int(previous.get("system_cpu_usage", 0))
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()) or 1
    if used <= 0 or system <= 0:
        return 0.0
    return used / system * online * 100.0


def _memory_in_use(memory: Mapping[str, Any]) -> int:
    details = memory.get("stats") or {}
    # cgroup v2 names it inactive_file, v1 total_inactive_file: page cache the kernel can drop.
    cache = int(details.get("inactive_file", details.get("total_inactive_file", 0)))
    usage = int(memory.get("usage", 0))
    return usage - cache if 0 <= cache < usage else usage


def _parse_time(text: str) -> datetime | None:
    if not text or text.startswith("0001-"):
        return None
    trimmed = text.rstrip("Z")
    if "." in trimmed:  # the engine gives nanoseconds; datetime takes microseconds
        head, fraction = trimmed.split(".", 1)
        trimmed = f"{head}.{fraction[:6]}"
    try:
        return datetime.fromisoformat(trimmed).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def human_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"
