"""Human output for the CLI: progress (a rich display on a terminal, one line per step off one) and results."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from envcapsule.cuda import Check
from envcapsule.drift import Drift
from envcapsule.facts import EnvironmentFacts
from envcapsule.image.build import BuildResult
from envcapsule.lock.targets import TargetLock
from envcapsule.progress import NullProgress, Progress
from envcapsule.run.launched import Launched
from envcapsule.run.usage import Usage, human_bytes, human_duration
from envcapsule.share.binder_share import ShareResult
from envcapsule.snapshot import SnapshotResult
from envcapsule.status import CapsuleStatus, last_verify_line


def console() -> Console:
    return Console(highlight=False)


def error_console() -> Console:
    return Console(stderr=True, highlight=False)


class RichTaskProgress:
    """Adapts envcapsule's Progress protocol to one rich progress bar per step."""

    def __init__(self, display: RichProgress) -> None:
        self.display = display
        self.task: TaskID | None = None

    def step(self, description: str, total: int | None = None) -> None:
        if self.task is not None:
            self.display.update(
                self.task, completed=self.display.tasks[self.task].total or 1, total=self.display.tasks[self.task].total or 1
            )
        self.task = self.display.add_task(description, total=total, detail="")

    def advance(self, item: str = "") -> None:
        if self.task is not None:
            self.display.advance(self.task)

    def log(self, line: str) -> None:
        # The latest line shows beside the current step; full logs belong to --json and the error view.
        if self.task is not None:
            self.display.update(self.task, detail=line.strip()[:60])


class LineProgress:
    """Progress where no terminal shows a live display (CI logs, pipes): one line per step, with the time so far."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def step(self, description: str, total: int | None = None) -> None:
        count = f" ({total} items)" if total else ""
        self.stream.write(f"[{time.monotonic() - self.started:6.1f}s] {description}{count}\n")
        self.stream.flush()

    def advance(self, item: str = "") -> None:
        pass  # a line per file would bury the steps

    def log(self, line: str) -> None:
        pass  # the engine's own output belongs to --json and to the error that quotes it


@contextmanager
def task_progress(enabled: bool = True, stream: TextIO | None = None) -> Iterator[Progress]:
    """A rich display on a terminal, a line per step elsewhere, nothing when ``enabled`` is False (``--json``)."""
    stream = stream or sys.stderr
    if not enabled:
        yield NullProgress()
        return
    if not stream.isatty():
        yield LineProgress(stream)
        return
    display = RichProgress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("[dim]{task.fields[detail]}"),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=error_console(),
        transient=True,
    )
    with display:
        yield RichTaskProgress(display)


def render_snapshot(result: SnapshotResult) -> None:
    out = console()
    by_kind: dict[str, int] = {}
    for entry in result.entries:
        by_kind[entry.kind] = by_kind.get(entry.kind, 0) + 1
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(by_kind.items()))
    out.print(f"[bold green]Capsule written:[/] {result.capsule}")
    out.print(f"  capsule hash  {result.capsule_hash}")
    out.print(f"  interpreter   {result.python}")
    out.print(f"  locked        {result.locked} of {len(result.entries)} distributions ({kinds})")
    if result.excluded_tooling:
        out.print(
            f"  left out      {len(result.excluded_tooling)} installed only for envcapsule: {', '.join(result.excluded_tooling)} (--include-tooling keeps them)"
        )
    if result.notebook_files is not None:
        out.print(f"  files         {result.notebook_files.describe()}")
    if result.system is not None and result.system.packages:
        names = ", ".join(f"{p.name} {p.version}" for p in result.system.packages)
        out.print(f"  system        {len(result.system.packages)} package(s) for the image: {names}")
    for note in result.system.notes if result.system is not None else ():
        out.print(f"  [dim]{note}[/]")
    if result.targets:
        out.print(f"  targets       {', '.join(_target_summary(t) for t in result.targets)}")
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}")


def _target_summary(target: TargetLock) -> str:
    if target.exact:
        return f"{target.platform} (the captured files)"
    if target.error:
        return f"{target.platform} (not locked)"
    own = len(target.files)
    return f"{target.platform} ({own} wheel{'' if own == 1 else 's'} of its own)"


def render_facts(facts: EnvironmentFacts) -> None:
    out = console()
    interp, plat = facts.interpreter, facts.platform
    out.print(
        f"[bold]{interp.implementation} {interp.version}[/] ({interp.abi_tag}, {interp.environment_kind}) at {interp.executable}"
    )
    distro = f"{plat.distro_id or '?'} {plat.distro_version or ''}".strip()
    out.print(f"{plat.os} {plat.machine}, {distro}, {plat.libc or 'libc ?'} {plat.libc_version or ''}")
    out.print(f"indexes: {', '.join(facts.pip_config.index_urls) or 'none'}")
    table = Table("distribution", "version", "installed from", "tags", box=None)
    for dist in facts.distributions:
        table.add_row(dist.name, dist.version, dist.source_kind, " ".join(dist.wheel_tags[:2]))
    out.print(table)
    for problem in facts.problems:
        out.print(f"[yellow]problem:[/] {problem}")


def render_build(result: BuildResult) -> None:
    out = console()
    if result.reused:
        out.print(f"[bold green]Image up to date:[/] {result.image}")
    else:
        cached = len(result.cached_steps)
        out.print(f"[bold green]Image built:[/] {result.image}  ({cached} of {len(result.steps)} steps from cache)")
    out.print(f"  image id      {result.image_id}")
    if result.base_image:
        python = f"standalone {result.python_build}" if result.python_build else f"Python {result.python_in_base}"
        out.print(f"  base image    {result.base_image} ({python})")
    out.print(f"  platform      {result.platform}{' (built under emulation)' if result.emulated else ''}")
    if result.server != "full":
        out.print(f"  server        {result.server} (JupyterLab alone: launch it; verify and hubs need the full image)")
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}")


def render_launch(launched: Launched) -> None:
    out = console()
    out.print(f"[bold green]Running:[/] {launched.name} ({launched.image})")
    out.print(f"  open          {launched.url}", soft_wrap=True)
    out.print(f"  stop with     envcapsule stop {launched.name}")


def render_containers(running: list[Launched], usage: Mapping[str, Usage] | None = None) -> None:
    out = console()
    if not running:
        out.print("No envcapsule containers are running.")
        return
    usage = usage or {}
    if not out.is_terminal:
        # Off a terminal a table would fold the URLs; one block per container keeps each URL whole on its line.
        for item in running:
            used = usage.get(item.container)
            lines = [f"{item.name}  {item.image}", f"  notebook {item.notebook or '-'}"]
            if used is not None:
                lines.append(f"  {usage_line(used)}")
            out.print("\n".join([*lines, f"  {item.url}"]), soft_wrap=True)
        return
    table = Table(box=None)
    for column in ("container", "notebook", "cpu", "memory", "up", "url"):
        table.add_column(column, overflow="fold")
    for item in running:
        used = usage.get(item.container)
        cells = (_cpu_words(used), _memory_words(used), human_duration(used.uptime_seconds)) if used else ("-", "-", "-")
        table.add_row(item.name, item.notebook or "-", *cells, item.url)
    out.print(table)


def usage_line(used: Usage) -> str:
    return f"cpu {_cpu_words(used)}  memory {_memory_words(used)}  up {human_duration(used.uptime_seconds)}"


def _cpu_words(used: Usage) -> str:
    return f"{used.cpu_percent:.1f}%" if used.cpu_percent is not None else "-"


def _memory_words(used: Usage) -> str:
    limit = human_bytes(used.memory_limit_bytes) if used.memory_limit_bytes else "no limit"
    return f"{human_bytes(used.memory_bytes)} / {limit}"


def render_drift(drift: Drift) -> None:
    out = console()
    if drift.identical:
        out.print("[bold green]Identical:[/] the live kernel environment matches its capsule.")
        for note in drift.notes:
            out.print(f"  {note}")
        return
    out.print(f"[bold yellow]Drifted:[/] {len(drift.lines()) - len(drift.notes)} change(s) since the snapshot")
    for line in drift.lines():
        out.print(f"  {line}")


def render_checks(checks: list[Check]) -> None:
    out = console()
    table = Table(box=None)
    for column in ("", "check", "result"):
        table.add_column(column, overflow="fold")
    for check in checks:
        mark = "[green]ok[/]" if check.ok else "[bold red]fail[/]"
        table.add_row(mark, check.name, check.detail if check.ok else check.sentence())
    out.print(table)


def render_share(result: ShareResult) -> None:
    out = console()
    out.print(f"[bold green]Binder folder written:[/] {result.export.folder}")
    if result.link:
        out.print(f"  link   {result.link.link}", soft_wrap=True)
        out.print(f"  badge  {result.link.badge}", soft_wrap=True)
    else:
        out.print(f"[yellow]no link:[/] {result.no_link}")
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}")


def render_status(status: CapsuleStatus) -> None:
    out = console()
    if status.state == "none":
        out.print(f"[bold]{status.notebook}[/]: no capsule yet; `envcapsule snapshot {status.notebook}` makes one.")
        return
    color = "green" if status.state == "up-to-date" else "yellow"
    out.print(f"[bold {color}]{status.state.replace('-', ' ').capitalize()}:[/] {status.notebook}")
    out.print(f"  capsule hash  {status.capsule_hash or '?'}")
    out.print(f"  environment   Python {status.python or '?'}, {status.packages} distributions")
    if status.changes:
        out.print(f"  drift         {status.summary}")
        for line in status.changes[:20]:
            out.print(f"    {line}")
        if len(status.changes) > 20:
            out.print(f"    … and {len(status.changes) - 20} more (`envcapsule diff` lists them all)")
    if status.engine_error:
        out.print(f"  image         {status.image} (unknown: {status.engine_error})")
    else:
        out.print(f"  image         {status.image} ({'built' if status.image_built else 'not built'})")
        for container in status.containers:
            out.print(f"  running       {container.get('name')}  {container.get('url')}", soft_wrap=True)
    if status.last_verify:
        out.print(f"  last verify   {last_verify_line(status.last_verify)}")
    for warning in status.warnings:
        out.print(f"[yellow]warning:[/] {warning}")
