"""The magic's subcommands: each calls the same core function as the CLI and returns a MagicResult."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from envcapsule.magic_views import MagicResult, progress_view
from envcapsule.progress import Progress


def run(args: argparse.Namespace, notebook: Path) -> MagicResult:
    handler = COMMANDS[args.command]
    # diff and status answer in a moment: a progress view would only be noise.
    mode = "none" if args.command in ("diff", "status") and args.progress == "auto" else args.progress
    progress = progress_view(mode, args.command)
    result = handler(args, notebook, progress)
    done = getattr(progress, "done", None)
    if done:
        done(result.verdict)
    return result


def _snapshot(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule.capture.live import live_facts
    from envcapsule.snapshot import snapshot

    result = snapshot(
        notebook,
        python=sys.executable,
        out=Path(args.out) if args.out else None,
        strict=args.strict,
        offline=args.offline,
        include_tooling=args.include_tooling,
        minimal=args.minimal,
        facts=live_facts(),
        progress=progress,
    )
    lines = [f"capsule hash {result.capsule_hash[:12]}", f"{result.locked} of {len(result.entries)} distributions locked"]
    if result.used:
        lines.append(f"used by the notebook: {', '.join(result.used)}")
    if result.excluded_tooling:
        lines.append(f"left out (installed only for envcapsule): {', '.join(result.excluded_tooling)}")
    lines += [f"warning: {w}" for w in result.warnings]
    return MagicResult("snapshot", f"{result.capsule.name} written", lines, ok=not result.warnings)


def _build(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule.image.build import build

    built = build(_capsule(notebook, progress), base_image=args.base_image, no_cache=args.no_cache, progress=progress)
    verdict = "image up to date" if built.reused else "image built"
    lines = [built.image, *(f"warning: {w}" for w in built.warnings)]
    return MagicResult("build", verdict, lines)


def _launch(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from contextlib import closing

    from envcapsule.capture.live import live_facts
    from envcapsule.engine import connect
    from envcapsule.run.notebook import launch_notebook

    with closing(connect()) as client:
        launched = launch_notebook(
            notebook,
            client,
            python=sys.executable,
            facts=live_facts(),
            base_image=args.base_image,
            port=args.port,
            mount=args.mount,
            gpus=args.gpus,
            progress=progress,
        )
    from IPython.display import HTML, display

    display(HTML(f"<a href='{launched.url}' target='_blank'>Open {launched.notebook or 'JupyterLab'} in its capsule</a>"))
    return MagicResult("launch", f"running as {launched.name}", [f"stop with: envcapsule stop {launched.name}"])


def _verify(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule.run.verify import verify
    from envcapsule.snapshot import default_capsule_dir
    from envcapsule.status import record_verify

    report = verify(
        notebook,
        sanitize=Path(args.sanitize) if args.sanitize else None,
        timeout=args.timeout,
        base_image=args.base_image,
        progress=progress,
    )
    record_verify(default_capsule_dir(notebook), report.to_json())
    return MagicResult("verify", report.message, report.render_text().splitlines()[1:], ok=report.reproduced)


def _share(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule.share import share_binder

    result = share_binder(notebook, hub=args.hub, force=args.force, capsule_dir=_capsule(notebook, progress), progress=progress)
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
    from envcapsule.capture.live import live_facts
    from envcapsule.drift import diff

    drift = diff(notebook, live=live_facts())
    if drift.identical:
        return MagicResult("diff", "identical to the capsule")
    return MagicResult("diff", f"{len(drift.lines())} change(s) since the snapshot", drift.lines(), ok=False)


def _status(args: argparse.Namespace, notebook: Path, progress: Progress) -> MagicResult:
    from envcapsule.capture.live import live_facts
    from envcapsule.status import capsule_status

    status = capsule_status(notebook, live=live_facts())
    if status.state == "none":
        return MagicResult("status", "no capsule yet", ["run %envcapsule snapshot"], ok=False)
    lines = [f"capsule hash {(status.capsule_hash or '')[:12]}", f"Python {status.python}, {status.packages} distributions"]
    lines += status.changes
    if status.engine_error:
        lines.append(f"image: unknown ({status.engine_error})")
    else:
        lines.append(f"image {status.image}: {'built' if status.image_built else 'not built'}")
        lines += [f"running: {c['name']}" for c in status.containers]
    if status.last_verify:
        lines.append(f"last verify: {status.last_verify.get('message')}")
    return MagicResult("status", status.state.replace("-", " "), lines, ok=status.state == "up-to-date")


def _capsule(notebook: Path, progress: Progress) -> Path:
    from envcapsule.capture.live import live_facts
    from envcapsule.snapshot import default_capsule_dir, ensure_capsule

    if (default_capsule_dir(notebook) / "capsule.toml").is_file():
        return default_capsule_dir(notebook)
    return ensure_capsule(notebook, python=sys.executable, facts=live_facts(), progress=progress)


COMMANDS: dict[str, Callable[[argparse.Namespace, Path, Progress], MagicResult]] = {
    "snapshot": _snapshot,
    "build": _build,
    "launch": _launch,
    "verify": _verify,
    "share": _share,
    "diff": _diff,
    "status": _status,
}
