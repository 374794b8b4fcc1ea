"""Live resource use from the engine's inspect and one-shot stats answers."""

from __future__ import annotations

from datetime import datetime, timezone

from envcapsule.run.usage import human_bytes, human_duration, usage_from

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
INSPECT = {
    "State": {"Running": True, "StartedAt": "2026-01-01T11:58:30.123456789Z"},
    "HostConfig": {"Memory": 268435456, "NanoCpus": 500000000},
}
STATS = {
    "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000}, "system_cpu_usage": 20_000_000_000, "online_cpus": 4},
    "precpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000}, "system_cpu_usage": 10_000_000_000},
    "memory_stats": {"usage": 100 * 2**20, "limit": 268435456, "stats": {"inactive_file": 20 * 2**20}},
}


def test_cpu_memory_limits_and_uptime_as_docker_stats_counts_them() -> None:
    usage = usage_from("abc", INSPECT, STATS, NOW)
    assert usage is not None
    assert usage.cpu_percent == 40.0  # a tenth of the host's CPU time, on four CPUs
    assert usage.cpu_seconds == 3.0
    assert usage.memory_bytes == 80 * 2**20  # reclaimable page cache left out
    assert (usage.memory_limit_bytes, usage.cpus_limit) == (268435456, 0.5)
    assert usage.started == "2026-01-01T11:58:30.123456Z"
    assert round(usage.uptime_seconds) == 90


def test_a_container_without_limits_and_one_that_just_stopped() -> None:
    unlimited = usage_from("abc", {"State": {"StartedAt": "2026-01-01T11:00:00Z"}, "HostConfig": {"Memory": 0}}, STATS, NOW)
    assert unlimited is not None and unlimited.memory_limit_bytes is None and unlimited.cpus_limit is None
    assert usage_from("abc", INSPECT, {"memory_stats": {}, "cpu_stats": {}}, NOW) is None


def test_sizes_and_durations_read_as_people_write_them() -> None:
    assert (human_bytes(512), human_bytes(268435456), human_bytes(3 * 2**30)) == ("512 B", "256.0 MiB", "3.0 GiB")
    assert (human_duration(42), human_duration(90), human_duration(7260), human_duration(90000)) == (
        "42s",
        "1m 30s",
        "2h 1m",
        "1d 1h",
    )


def test_one_sample_gives_no_cpu_percentage_but_the_same_cpu_seconds() -> None:
    usage = usage_from("abc", INSPECT, STATS, NOW, cpu_percent=False)
    assert usage is not None and usage.cpu_percent is None and usage.cpu_seconds == 3.0


class _Engine:
    """Answers inspect and stats for "alive"; "gone" exited and was removed between the listing and the stats call."""

    def __init__(self) -> None:
        self.api = self
        self.stats_calls: list[tuple[str, dict[str, object]]] = []

    def inspect_container(self, container: str) -> dict[str, object]:
        from docker.errors import NotFound

        if container == "gone":
            raise NotFound("No such container: gone")
        return INSPECT

    def stats(self, container: str, **options: object) -> dict[str, object]:
        self.stats_calls.append((container, options))
        return STATS


def test_a_container_that_exits_meanwhile_is_left_out_and_each_is_asked_once() -> None:
    from envcapsule.run.usage import usage_of

    engine = _Engine()
    found = usage_of(engine, ["alive", "gone"], NOW)  # type: ignore[arg-type]
    assert list(found) == ["alive"]
    assert engine.stats_calls == [("alive", {"stream": False})]
    usage_of(engine, ["alive"], NOW, cpu_percent=False)  # type: ignore[arg-type]
    assert engine.stats_calls[-1] == ("alive", {"stream": False, "one_shot": True})
