"""Human output for the CLI: a rich progress display and result tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from envcapsule.cuda import Check
from envcapsule.drift import Drift
from envcapsule.facts import EnvironmentFacts
from envcapsule.image.build import BuildResult
from envcapsule.progress import NullProgress, Progress
from envcapsule.run.launched import Launched
from envcapsule.share.binder_share import ShareResult
from envcapsule.snapshot import SnapshotResult


def console() -> Console:
    return Console(highlight=False)


def error_console() -> Console:
    return Console(stderr=True, highlight=False)


class RichTaskProgress:
    """Adapts envcapsule's Progress protocol to one rich progress bar per step."""

    def __init__(self, display: RichProgress) -> None:
        self.display = display
        self.task: int | None = None

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


@contextmanager
def task_progress(enabled: bool = True) -> Iterator[Progress]:
    if not enabled:
        yield NullProgress()
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
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}")


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
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/] {warning}")


def render_launch(launched: Launched) -> None:
    out = console()
    out.print(f"[bold green]Running:[/] {launched.name} ({launched.image})")
    out.print(f"  open          {launched.url}", soft_wrap=True)
    out.print(f"  stop with     envcapsule stop {launched.name}")


def render_containers(running: list[Launched]) -> None:
    out = console()
    if not running:
        out.print("No envcapsule containers are running.")
        return
    table = Table(box=None)
    for column in ("container", "image", "url"):
        table.add_column(column, overflow="fold")
    for item in running:
        table.add_row(item.name, item.image, item.url)
    out.print(table, soft_wrap=True)


def render_drift(drift: Drift) -> None:
    out = console()
    if drift.identical:
        out.print("[bold green]Identical:[/] the live kernel environment matches its capsule.")
        return
    out.print(f"[bold yellow]Drifted:[/] {len(drift.lines())} change(s) since the snapshot")
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
    out.print(table, soft_wrap=True)


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
