"""The magic's subcommands: each calls the same :mod:`envcapsule.api` workflow as the CLI and returns a MagicResult.

Inside a kernel the interpreter is this process's, and the facts come from the live kernel
(which also knows what the notebook imported).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envcapsule.magic.views import MagicResult, progress_view
from envcapsule.progress import Progress
from envcapsule.status import last_verify_line

if TYPE_CHECKING:
    from envcapsule.facts import EnvironmentFacts

# These answer in a moment: a progress view would only be noise.
_QUICK = frozenset({"diff", "status", "doctor", "ps", "stop"})


def run(args: argparse.Namespace, notebook: Path | None) -> MagicResult:
    """Run one subcommand; ``notebook`` is None for those that need none (ps, stop)."""
    handler = COMMANDS[args.command]
    mode = "none" if args.command in _QUICK and args.progress == "auto" else args.progress
    progress = progress_view(mode, args.command)
    result = handler(args, notebook, progress)
    done = getattr(progress, "done", None)
    if done:
        done(result.verdict)
    return result


def _kernel() -> tuple[str, EnvironmentFacts]:
    """This kernel's interpreter and its live facts (what it imported included)."""
    from envcapsule.capture.live import live_facts

    return sys.executable, live_facts()


def _snapshot(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule import api
    from envcapsule.capture.kernel_files import kernel_files

    python, facts = _kernel()
    result = api.snapshot(
        notebook,
        out=args.out,
        strict=args.strict,
        offline=args.offline,
        include_tooling=args.include_tooling,
        minimal=args.minimal,
        include=args.include or (),
        exclude=args.exclude or (),
        max_files_size=args.max_files_size,
        system_python_packages=args.system_python_packages,
        kernel_files=kernel_files(notebook.parent),
        platforms=args.platforms,
        progress=progress,
        python=python,
        facts=facts,
    )
    lines = [f"capsule hash {result.capsule_hash[:12]}", f"{result.locked} of {len(result.entries)} distributions locked"]
    if result.notebook_files is not None:
        lines.append(f"notebook files: {result.notebook_files.describe()}")
    if result.used:
        lines.append(f"used by the notebook: {', '.join(result.used)}")
    if result.excluded_tooling:
        lines.append(f"left out (installed only for envcapsule): {', '.join(result.excluded_tooling)}")
    lines += [f"warning: {w}" for w in result.warnings]
    return MagicResult("snapshot", f"{result.capsule.name} written", lines, ok=not result.warnings)


def _build(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule import api

    python, facts = _kernel()
    built = api.build(
        notebook,
        base_image=args.base_image,
        no_cache=args.no_cache,
        platform=args.platform,
        update_server=args.update_server,
        server=args.server,
        progress=progress,
        python=python,
        facts=facts,
    )
    verdict = "image up to date" if built.reused else "image built"
    return MagicResult("build", verdict, [built.image, *(f"warning: {w}" for w in built.warnings)])


def _launch(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from IPython.display import HTML, display

    from envcapsule import api

    python, facts = _kernel()
    launched = api.launch(
        notebook,
        base_image=args.base_image,
        port=args.port,
        mount=args.mount,
        gpus=args.gpus,
        memory=args.memory,
        cpus=args.cpus,
        timeout=args.launch_timeout,
        progress=progress,
        python=python,
        facts=facts,
    )
    display(HTML(f"<a href='{launched.url}' target='_blank'>Open {launched.notebook or 'JupyterLab'} in its capsule</a>"))
    return MagicResult("launch", f"running as {launched.name}", [f"stop with: %envcapsule stop {launched.name}"])


def _verify(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule import api

    report = api.verify(
        notebook,
        sanitize=args.sanitize,
        default_sanitizers=not args.no_default_sanitizers,
        timeout=args.cell_timeout,
        base_image=args.base_image,
        progress=progress,
    )
    return MagicResult("verify", report.message, report.render_text().splitlines()[1:], ok=report.reproduced)


def _share(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule import api

    python, facts = _kernel()
    result = api.share(notebook, hub=args.hub, force=args.force, progress=progress, python=python, facts=facts)
    lines = [f"binder/ written in {result.export.folder.parent.name}"]
    if result.link:
        lines += [f"link: {result.link.link}", f"badge: {result.link.badge}"]
    else:
        lines.append(f"no link: {result.no_link}")
    lines += [f"warning: {w}" for w in result.warnings]
    return MagicResult(
        "share", "ready for Binder" if result.link else "binder/ written", lines, ok=bool(result.link) and not result.warnings
    )


def _diff(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule import api
    from envcapsule.capture.kernel_files import kernel_files
    from envcapsule.capture.live import live_facts

    drift = api.diff(notebook, live=live_facts(), kernel_files=kernel_files(notebook.parent))
    if drift.identical:
        return MagicResult("diff", "identical to the capsule")
    return MagicResult("diff", f"{len(drift.lines())} change(s) since the snapshot: {drift.summary()}", drift.lines(), ok=False)


def _status(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule import api
    from envcapsule.capture.live import live_facts

    status = api.status(notebook, live=live_facts())
    if status.state == "none":
        return MagicResult("status", "no capsule yet", ["run %envcapsule snapshot"], ok=False)
    lines = [f"capsule hash {(status.capsule_hash or '')[:12]}", f"Python {status.python}, {status.packages} distributions"]
    if status.changes:
        lines.append(f"drift: {status.summary}")
    lines += status.changes
    if status.engine_error:
        lines.append(f"image: unknown ({status.engine_error})")
    else:
        lines.append(f"image {status.image}: {'built' if status.image_built else 'not built'}")
        lines += [f"running: {c['name']}" for c in status.containers]
    if status.last_verify:
        lines.append(f"last verify: {last_verify_line(status.last_verify)}")
    return MagicResult("status", status.state.replace("-", " "), lines, ok=status.state == "up-to-date")


def _doctor(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule import api

    report = api.doctor(notebook)
    lines = [
        f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail if check.ok else check.sentence()}"
        for check in report.checks
    ]
    return MagicResult("doctor", "ready" if report.ok else "not ready", lines, ok=report.ok)


def _ps(args: argparse.Namespace, notebook: Path | None, progress: Progress) -> MagicResult:
    from envcapsule import api
    from envcapsule.cli.render import usage_line

    found = api.ps()
    running = found.containers
    lines = [
        f"{item.name}  {item.image}  {item.url}"
        + (f"  {usage_line(found.usage[item.container])}" if item.container in found.usage else "")
        for item in running
    ]
    return MagicResult("ps", f"{len(running)} running" if running else "nothing running", lines)


def _sbom(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule import api

    python, facts = _kernel()
    result = api.sbom(notebook, format=args.sbom_format, progress=progress, python=python, facts=facts)
    counts = result.counts
    lines = [
        f"{counts['pypi']} Python, {counts['conda']} conda and {counts['deb']} system package(s); "
        f"{counts['server']} in the server environment; base image {'named' if counts['oci'] else 'named after the first build'}"
    ]
    return MagicResult("sbom", f"written to {result.path}" if result.path else "made (the capsule folder is read-only)", lines)


def _stop(args: argparse.Namespace, notebook: Path | None, progress: Progress) -> MagicResult:
    from envcapsule import api

    stopped = api.stop(args.ids, all=args.all).containers
    return MagicResult("stop", f"stopped {len(stopped)} container(s)" if stopped else "nothing was running")


COMMANDS: dict[str, Callable[[argparse.Namespace, Any, Progress], MagicResult]] = {
    "snapshot": _snapshot,
    "build": _build,
    "launch": _launch,
    "verify": _verify,
    "share": _share,
    "diff": _diff,
    "status": _status,
    "doctor": _doctor,
    "ps": _ps,
    "stop": _stop,
    "sbom": _sbom,
}
