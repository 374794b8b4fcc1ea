"""The ``envcapsule`` command: parse arguments, call :mod:`envcapsule.api`, render the result."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from envcapsule.cli.parser import Arguments, build_parser
from envcapsule.errors import EnvcapsuleError

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(HANDLERS[args.command](args))
    except EnvcapsuleError as error:
        return _fail(args, error)
    except KeyboardInterrupt:
        return _fail(args, None)


def _fail(args: Arguments, error: EnvcapsuleError | None) -> int:
    from envcapsule.errors import Interrupted

    if error is None:
        error = Interrupted("Interrupted; nothing was written and any previous capsule is untouched.")
    if getattr(args, "json", False):
        print(json.dumps(error.to_json("cli")))
    else:
        from rich.markup import escape

        from envcapsule.cli.render import error_console

        error_console().print(f"[bold red]error:[/] {escape(error.message('cli'))}", highlight=False, soft_wrap=True)
    return int(error.exit_code)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def _run_snapshot(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import render_snapshot, task_progress

    with task_progress(enabled=not args.json) as progress:
        result = api.snapshot(
            args.notebook,
            python=args.python,
            out=args.out,
            strict=args.strict,
            offline=args.offline,
            include_tooling=args.include_tooling,
            include=args.include or (),
            exclude=args.exclude or (),
            max_files_size=args.max_files_size,
            system_python_packages=args.system_python_packages,
            facts_file=args.facts,
            platforms=args.platforms,
            progress=progress,
        )
    if args.json:
        _print_json(result.to_json())
    else:
        render_snapshot(result)
    return 0


def _run_build(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import render_build, task_progress

    with task_progress(enabled=not args.json) as progress:
        if args.context is not None:
            written = api.write_context(
                args.target, args.context, python=args.python, base_image=args.base_image, progress=progress
            )
            if args.json:
                _print_json(written.to_json())
            else:
                print(f"Build context written to {written.context}; build it with: docker build {written.context}")
            return 0
        result = api.build(
            args.target,
            python=args.python,
            base_image=args.base_image,
            no_cache=args.no_cache,
            platform=args.platform,
            update_server=args.update_server,
            server=args.server,
            progress=progress,
        )
    if args.json:
        _print_json(result.to_json())
    else:
        render_build(result)
    return 0


def _run_launch(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import render_launch, task_progress

    with task_progress(enabled=not args.json) as progress:
        launched = api.launch(
            args.target,
            python=args.python,
            base_image=args.base_image,
            port=args.port,
            mount=args.mount,
            gpus=args.gpus,
            memory=args.memory,
            cpus=args.cpus,
            timeout=args.launch_timeout,
            progress=progress,
        )
    if args.json:
        _print_json(launched.to_json())
        return 0
    render_launch(launched)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(launched.url)
    return 0


def _run_verify(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import task_progress

    with task_progress(enabled=not args.json) as progress:
        report = api.verify(
            args.notebook,
            sanitize=args.sanitize,
            default_sanitizers=not args.no_default_sanitizers,
            timeout=args.cell_timeout,
            base_image=args.base_image,
            progress=progress,
        )
    if args.junit:
        from envcapsule.atomic import atomic_writer

        with atomic_writer(Path(args.junit), "w", encoding="utf-8") as stream:
            stream.write(report.to_junit())
    if args.json:
        _print_json(report.to_json())
    else:
        print(report.render_text())
    return 0 if report.reproduced else 1


def _run_status(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import render_status

    result = api.status(args.notebook, python=args.python)
    if args.json:
        _print_json(result.to_json())
    else:
        render_status(result)
    return 0 if result.state == "up-to-date" else 1


def _run_diff(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import render_drift

    drift = api.diff(args.notebook, python=args.python, capsule=args.capsule)
    if args.json:
        _print_json(drift.to_json())
    else:
        render_drift(drift)
    return 0 if drift.identical else 1


def _run_share(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import render_share, task_progress
    from envcapsule.errors import UsageError

    if sum(bool(kind) for kind in (args.binder, args.jupyterhub, args.ci)) != 1:
        raise UsageError(
            "Say which kind of sharing: --binder writes binder/ and prints a mybinder link pinned to the commit, "
            "--jupyterhub prints a KubeSpawner profile for the pushed image, --ci github|gitlab writes a CI job that verifies it",
            "for a registry use `envcapsule push NOTEBOOK --registry REGISTRY/NAMESPACE`, for a file "
            "`envcapsule export NOTEBOOK -o FILE.tar` (see `envcapsule share --help`)",
        )
    if args.jupyterhub:
        return _share_jupyterhub(args)
    if args.ci:
        return _share_ci(args)
    with task_progress(enabled=not args.json) as progress:
        result = api.share(args.notebook, hub=args.hub, force=args.force, python=args.python, progress=progress)
    if args.json:
        _print_json(result.to_json())
    else:
        render_share(result)
    return 0


def _share_ci(args: Arguments) -> int:
    from envcapsule import api

    workflow = api.share_ci(args.notebook, provider=args.ci, force=args.force)
    if args.json:
        _print_json(workflow.to_json())
        return 0
    done = "Written" if workflow.changed else "Up to date"
    print(
        f"{done}: {workflow.path} (builds the image and verifies {workflow.notebook} on each push; commit it with the capsule folder)"
    )
    if workflow.backup:
        print(f"The file that was there is kept as {workflow.backup}")
    return 0


def _share_jupyterhub(args: Arguments) -> int:
    from envcapsule import api

    profile = api.share(args.notebook, kind="jupyterhub", registry=args.registry, output=args.profile_output, force=args.force)
    if args.json:
        _print_json(profile.to_json())
    elif profile.written is None:
        sys.stdout.write(profile.to_yaml())
    else:
        notes = "".join(f"note: {note}\n" for note in profile.notes)
        sys.stdout.write(f"Profile written: {profile.written} (image {profile.ref})\n{notes}")
    return 0


def _run_push(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import task_progress

    with task_progress(enabled=not args.json) as progress:
        pushed = api.push(args.target, registry=args.registry, base_image=args.base_image, progress=progress)
    if args.json:
        _print_json(pushed.to_json())
    else:
        print(f"Pushed: {pushed.ref}\nLaunch it anywhere with: envcapsule launch {pushed.ref}")
    return 0


def _run_export(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import task_progress

    with task_progress(enabled=not args.json) as progress:
        exported = api.export(args.target, args.output, base_image=args.base_image, progress=progress)
    if args.json:
        _print_json(exported.to_json())
    else:
        print(f"Archive written: {exported.path} (load it elsewhere with: envcapsule import {exported.path.name})")
    return 0


def _run_import(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import task_progress

    with task_progress(enabled=not args.json) as progress:
        result = api.import_archive(args.archive, force=args.force, progress=progress)
    if args.json:
        _print_json(result.to_json())
    else:
        print(f"Imported. Launch it with: {result.launch_command}")
    return 0


def _run_doctor(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import render_checks

    report = api.doctor(args.target)
    if args.json:
        _print_json(report.to_json())
    else:
        render_checks(list(report.checks))
    return 0 if report.ok else 1


def _run_ps(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import render_containers

    running = api.ps()
    if args.json:
        _print_json(running.to_json())
    else:
        render_containers(list(running.containers), running.usage)
    return 0


def _run_stop(args: Arguments) -> int:
    from envcapsule import api

    stopped = api.stop(args.ids, all=args.all)
    if args.json:
        _print_json(stopped.to_json())
    else:
        count = len(stopped.containers)
        print(f"Stopped and removed {count} container(s)." if count else "No envcapsule containers were running.")
    return 0


def _run_sbom(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import task_progress

    with task_progress(enabled=args.sbom_output is not None and not args.json) as progress:
        result = api.sbom(args.target, output=args.sbom_output, format=args.sbom_format, python=args.python, progress=progress)
    if args.sbom_output is None:
        sys.stdout.write(result.document)  # the document itself, for a pipe into a scanner
    elif args.json:
        _print_json(result.to_json())
    else:
        counts = result.counts
        print(
            f"SBOM written to {result.output}: {counts['pypi']} Python, {counts['conda']} conda and {counts['deb']} system "
            f"package(s), {counts['server']} in the server environment"
            + (", and the base image" if counts["oci"] else "; the base image is named after the first build")
        )
    return 0


def _run_inspect(args: Arguments) -> int:
    from envcapsule import api
    from envcapsule.cli.render import render_facts

    facts = api.inspect(args.notebook, python=args.python)
    if args.json:
        from dataclasses import replace

        from envcapsule.factsfile import facts_document
        from envcapsule.snapshot import facts_system

        # A snapshot from this file on another machine needs what only this one can say: its system packages.
        if facts.system is None and facts.platform.os == "linux":
            facts = replace(facts, system=facts_system(facts).to_dict())
        _print_json(facts_document(facts))
    else:
        render_facts(facts)
    return 0


HANDLERS: dict[str, Callable[[Arguments], int]] = {
    "snapshot": _run_snapshot,
    "build": _run_build,
    "launch": _run_launch,
    "verify": _run_verify,
    "status": _run_status,
    "diff": _run_diff,
    "share": _run_share,
    "push": _run_push,
    "export": _run_export,
    "import": _run_import,
    "doctor": _run_doctor,
    "ps": _run_ps,
    "stop": _run_stop,
    "sbom": _run_sbom,
    "inspect": _run_inspect,
}
