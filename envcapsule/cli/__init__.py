"""The ``envcapsule`` command: parse arguments, call the core, render the result."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from envcapsule._version import __version__

DESCRIPTION = """\
Capture a notebook's exact environment into a capsule: lockfiles that pin every
package to the exact file and sha256 that is installed, ready to rebuild anywhere.

  envcapsule snapshot analysis.ipynb         # writes analysis.capsule/ beside it
  envcapsule inspect --python .venv/bin/python
"""

SNAPSHOT_HELP = """\
Write <notebook stem>.capsule/ beside the notebook: capsule.toml, pylock.toml (PEP 751),
requirements.txt with --hash on every line, the facts the probe saw, and a copy of the
notebook. The kernel's interpreter comes from --python, else from the notebook's
kernelspec. The folder is written atomically: a failed snapshot leaves the previous one.
"""


BUILD_HELP = """\
Build the capsule into an image tagged envcapsule/<notebook stem>:<capsule hash[:12]>,
through the Docker Engine API. Every locked file is fetched once into a host cache
(checked against its sha256) and installed in the image with no index and no network;
the image runs as jovyan (uid 1000), serves JupyterLab on port 8888, and keeps the
kernel environment apart from the server environment. Building a capsule whose image
exists returns at once. The Dockerfile is written into the capsule folder.
"""


LAUNCH_HELP = """\
Start the notebook inside its capsule's image (building it first if needed), wait until
Jupyter answers, then print and open http://127.0.0.1:PORT/lab/tree/<notebook>?token=...
The port is published on 127.0.0.1 only, the token is random, and the container runs as
uid 1000 with every capability dropped. `envcapsule stop ID` stops it.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envcapsule", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"envcapsule {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    snap = commands.add_parser(
        "snapshot",
        help="capture a notebook's environment into a capsule folder",
        description=SNAPSHOT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    snap.add_argument("notebook", type=Path, help="the .ipynb whose kernel environment is captured")
    _add_python_option(snap)
    snap.add_argument("--out", type=Path, metavar="DIR", help="capsule folder (default: <notebook stem>.capsule beside it)")
    snap.add_argument("--strict", action="store_true", help="fail if any distribution cannot be locked to an exact file")
    snap.add_argument(
        "--offline", action="store_true", help="use only cached index data; files not in the cache are marked unresolved"
    )
    snap.add_argument(
        "--include-tooling",
        action="store_true",
        help="keep the distributions that are installed only because envcapsule is (left out by default)",
    )
    _add_json_option(snap)
    snap.set_defaults(run=_run_snapshot)

    build = commands.add_parser(
        "build",
        help="build a capsule into a container image",
        description=BUILD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument(
        "target", type=Path, metavar="NOTEBOOK|CAPSULE", help="a notebook (its capsule is used or made) or a capsule folder"
    )
    _add_python_option(build)
    build.add_argument("--base-image", metavar="IMAGE", help="base image (default: python:<captured version>-slim-<codename>)")
    build.add_argument("--no-cache", action="store_true", help="rebuild every layer, even if the image exists")
    build.add_argument(
        "--context", type=Path, metavar="DIR", help="only write the build context (Dockerfile + wheels) to DIR, to build by hand"
    )
    _add_json_option(build)
    build.set_defaults(run=_run_build)

    launch = commands.add_parser(
        "launch",
        help="start the notebook in its capsule's image and print its URL",
        description=LAUNCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    launch.add_argument(
        "target", metavar="NOTEBOOK|CAPSULE|IMAGE", help="a notebook or capsule (built first if needed), or an image"
    )
    _add_python_option(launch)
    launch.add_argument("--base-image", metavar="IMAGE", help="base image, if a build is needed")
    launch.add_argument("--port", type=int, metavar="N", help="host port on 127.0.0.1 (default: a free one)")
    mount = launch.add_mutually_exclusive_group()
    mount.add_argument(
        "--mount", dest="mount", action="store_true", help="bind the notebook's folder read-write at ~/work, so work is kept"
    )
    mount.add_argument("--no-mount", dest="mount", action="store_false", help="use the copy baked into the image (default)")
    launch.add_argument(
        "--gpus",
        metavar="all|none|N|device=ID,...",
        help="GPUs for a CUDA capsule (default: all, after the driver checks); none runs on the CPU",
    )
    launch.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    launch.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="seconds to wait for Jupyter to answer (default 60)"
    )
    _add_json_option(launch)
    launch.set_defaults(run=_run_launch, mount=False)

    share = commands.add_parser(
        "share",
        help="write binder/ for mybinder.org and print a commit-pinned link and badge",
        description="Write binder/ at the root of the notebook's git repository (a Dockerfile that installs the exact "
        "lock with hashes, the hashed requirements.txt, runtime.txt), then print the persistent mybinder link pinned to "
        "the current commit and a Markdown badge. Warns when changes are uncommitted or unpushed.",
    )
    share.add_argument("notebook", type=Path, help="the notebook to share (its capsule is used or made)")
    share.add_argument("--binder", action="store_true", required=True, help="export for Binder (the only kind so far)")
    share.add_argument("--hub", default="https://mybinder.org", metavar="URL", help="the BinderHub (default mybinder.org)")
    share.add_argument("--force", action="store_true", help="replace a binder/ that envcapsule did not write (a backup is kept)")
    _add_python_option(share)
    _add_json_option(share)
    share.set_defaults(run=_run_share)

    push = commands.add_parser(
        "push",
        help="push the capsule's image to a registry and record its digest",
        description="Push the built image to REGISTRY/NAMESPACE with the credentials of your Docker configuration "
        "(envcapsule stores none), record the digest in the capsule folder and print REGISTRY/NAMESPACE/NAME@sha256:...; "
        "`envcapsule launch REF` runs it on any host.",
    )
    push.add_argument("target", type=Path, metavar="NOTEBOOK|CAPSULE")
    push.add_argument("--registry", required=True, metavar="REGISTRY/NAMESPACE", help="e.g. ghcr.io/alice or 127.0.0.1:5000/lab")
    push.add_argument("--base-image", metavar="IMAGE", help="base image, if a build is needed")
    _add_json_option(push)
    push.set_defaults(run=_run_push)

    export = commands.add_parser(
        "export", help="write the image, the capsule and the notebook into one tar for an air-gapped host"
    )
    export.add_argument("target", type=Path, metavar="NOTEBOOK|CAPSULE")
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.tar")
    export.add_argument("--base-image", metavar="IMAGE", help="base image, if a build is needed")
    _add_json_option(export)
    export.set_defaults(run=_run_export)

    restore = commands.add_parser(
        "import", help="load an archive made by `envcapsule export` and restore its capsule and notebook here"
    )
    restore.add_argument("archive", type=Path, metavar="FILE.tar")
    restore.add_argument("--force", action="store_true", help="replace a different capsule of the same name")
    _add_json_option(restore)
    restore.set_defaults(run=_run_import)

    doctor = commands.add_parser(
        "doctor",
        help="check that this host can build and run a capsule: engine, driver, GPUs, disk, images",
        description="Print a table of checks for a capsule, GPU or not: the Docker engine, the NVIDIA runtime, driver "
        "and GPUs for CUDA capsules, free disk, and whether the image and its base are here. Exits 1 if any check fails.",
    )
    doctor.add_argument("target", type=Path, metavar="NOTEBOOK|CAPSULE", help="a notebook with a capsule, or a capsule folder")
    _add_json_option(doctor)
    doctor.set_defaults(run=_run_doctor)

    ps = commands.add_parser("ps", help="list envcapsule's running containers with their URLs")
    _add_json_option(ps)
    ps.set_defaults(run=_run_ps)

    stop = commands.add_parser("stop", help="stop and remove envcapsule containers (never others)")
    stop.add_argument("ids", nargs="*", metavar="ID", help="container ids or names, as `envcapsule ps` shows them")
    stop.add_argument("--all", action="store_true", help="stop every envcapsule container")
    _add_json_option(stop)
    stop.set_defaults(run=_run_stop)

    check = commands.add_parser(
        "verify",
        help="re-execute the notebook in its capsule's image and compare every cell's outputs",
        description="Re-execute the notebook inside its capsule's image (built first if needed; no host mounts) and "
        "compare each cell's outputs with the stored ones using nbval, with sanitizers for memory addresses, dates, "
        "times and temporary paths. Exits 0 only when every checked cell reproduced.",
    )
    check.add_argument("notebook", type=Path, help="the notebook whose stored outputs are checked")
    check.add_argument("--sanitize", type=Path, metavar="FILE", help="extra nbval sanitizers ([section] regex: / replace:)")
    check.add_argument("--timeout", type=float, default=120.0, metavar="S", help="seconds one cell may run (default 120)")
    check.add_argument("--base-image", metavar="IMAGE", help="base image, if a build is needed")
    _add_json_option(check)
    check.set_defaults(run=_run_verify)

    drift = commands.add_parser(
        "diff",
        help="compare the live kernel environment with the notebook's capsule",
        description="List distributions added, removed and changed since the snapshot, and interpreter or platform "
        "changes. Exits 0 only when the live environment is identical to the capsule, 1 when it drifted.",
    )
    drift.add_argument("notebook", type=Path, help="the notebook whose capsule is compared")
    _add_python_option(drift)
    drift.add_argument("--capsule", type=Path, metavar="DIR", help="capsule folder (default: <notebook stem>.capsule)")
    _add_json_option(drift)
    drift.set_defaults(run=_run_diff)

    inspect = commands.add_parser(
        "inspect",
        help="print what the probe sees in an environment, writing nothing",
        description="Run the probe under an interpreter and print its facts; nothing is written.",
    )
    inspect.add_argument("notebook", type=Path, nargs="?", help="a notebook whose kernel is inspected")
    _add_python_option(inspect)
    _add_json_option(inspect)
    inspect.set_defaults(run=_run_inspect)
    return parser


def _add_python_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--python", metavar="PATH", help="the kernel's interpreter (default: from the notebook's kernelspec)")


def _add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of human output")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from envcapsule.errors import EnvcapsuleError

    try:
        return int(args.run(args))
    except EnvcapsuleError as error:
        return _fail(args, str(error), error.exit_code)
    except KeyboardInterrupt:
        return _fail(args, "Interrupted; nothing was written and any previous capsule is untouched.", 130)


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": message}))
    else:
        from envcapsule.console import error_console

        error_console().print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return code


def _run_snapshot(args: argparse.Namespace) -> int:
    from envcapsule.console import render_snapshot, task_progress
    from envcapsule.snapshot import snapshot

    with task_progress(enabled=not args.json) as progress:
        result = snapshot(
            args.notebook,
            python=args.python,
            out=args.out,
            strict=args.strict,
            offline=args.offline,
            include_tooling=args.include_tooling,
            progress=progress,
        )
    if args.json:
        _print_json(result.to_json())
    else:
        render_snapshot(result)
    return 0


def _run_build(args: argparse.Namespace) -> int:
    from envcapsule.console import render_build, task_progress
    from envcapsule.image.build import build, write_build_context
    from envcapsule.snapshot import ensure_capsule

    with task_progress(enabled=not args.json) as progress:
        capsule = ensure_capsule(args.target, python=args.python, progress=progress)
        if args.context is not None:
            dockerfile = write_build_context(capsule, args.context.absolute(), base_image=args.base_image)
            if args.json:
                _print_json({"context": str(dockerfile.parent), "dockerfile": str(dockerfile)})
            else:
                print(f"Build context written to {dockerfile.parent}; build it with: docker build {dockerfile.parent}")
            return 0
        result = build(capsule, base_image=args.base_image, no_cache=args.no_cache, progress=progress)
    if args.json:
        _print_json(result.to_json())
    else:
        render_build(result)
    return 0


def _run_launch(args: argparse.Namespace) -> int:
    from envcapsule.console import render_launch, task_progress
    from envcapsule.engine import connect
    from envcapsule.run import launch
    from envcapsule.run.notebook import launch_notebook
    from envcapsule.share import is_digest_ref, pull_by_digest

    with task_progress(enabled=not args.json) as progress, closing(connect()) as client:
        if Path(args.target).exists():
            launched = launch_notebook(
                Path(args.target),
                client,
                python=args.python,
                base_image=args.base_image,
                port=args.port,
                mount=args.mount,
                gpus=args.gpus,
                timeout=args.timeout,
                progress=progress,
            )
        else:
            if args.mount:
                from envcapsule.errors import EnvcapsuleError

                raise EnvcapsuleError(
                    f"--mount binds a notebook's folder, and {args.target} is an image reference with none; "
                    "launch the notebook or its capsule folder to mount it."
                )
            image = args.target.strip()
            if is_digest_ref(image):
                pull_by_digest(image, client, progress)
            launched = launch(client, image, port=args.port, timeout=args.timeout, progress=progress)
    if args.json:
        _print_json(launched.to_json())
        return 0
    render_launch(launched)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(launched.url)
    return 0


def _run_share(args: argparse.Namespace) -> int:
    from envcapsule.console import render_share, task_progress
    from envcapsule.share import share_binder
    from envcapsule.snapshot import ensure_capsule

    with task_progress(enabled=not args.json) as progress:
        capsule = ensure_capsule(args.notebook, python=args.python, progress=progress)
        result = share_binder(args.notebook.absolute(), hub=args.hub, force=args.force, capsule_dir=capsule, progress=progress)
    if args.json:
        _print_json(result.to_json())
    else:
        render_share(result)
    return 0


def _built_image(target: Path, base_image: str | None, client: Any, progress: Any) -> Path:
    from envcapsule.image.build import build
    from envcapsule.snapshot import ensure_capsule

    capsule = ensure_capsule(target, progress=progress)
    build(capsule, base_image=base_image, client=client, progress=progress)
    return capsule


def _run_push(args: argparse.Namespace) -> int:
    from envcapsule.console import task_progress
    from envcapsule.engine import connect
    from envcapsule.share import push

    with task_progress(enabled=not args.json) as progress, closing(connect()) as client:
        capsule = _built_image(args.target, args.base_image, client, progress)
        ref = push(capsule, args.registry, client, progress)
    if args.json:
        _print_json({"ref": ref})
    else:
        print(f"Pushed: {ref}\nLaunch it anywhere with: envcapsule launch {ref}")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from envcapsule.console import task_progress
    from envcapsule.engine import connect
    from envcapsule.share import export_archive

    with task_progress(enabled=not args.json) as progress, closing(connect()) as client:
        capsule = _built_image(args.target, args.base_image, client, progress)
        exported = export_archive(capsule, args.output.absolute(), client, progress)
    if args.json:
        _print_json(exported.to_json())
    else:
        print(f"Archive written: {args.output} (load it elsewhere with: envcapsule import {args.output.name})")
    return 0


def _run_import(args: argparse.Namespace) -> int:
    from envcapsule.console import task_progress
    from envcapsule.engine import connect
    from envcapsule.share import import_archive

    with task_progress(enabled=not args.json) as progress, closing(connect()) as client:
        result = import_archive(args.archive, client, force=args.force, progress=progress)
    if args.json:
        _print_json(result.to_json())
    else:
        print(f"Imported. Launch it with: {result.launch_command}")
    return 0


def _run_doctor(args: argparse.Namespace) -> int:
    from envcapsule.console import render_checks
    from envcapsule.cuda import doctor
    from envcapsule.snapshot import default_capsule_dir

    target = args.target.absolute()
    checks = doctor(target if target.is_dir() else default_capsule_dir(target))
    if args.json:
        _print_json({"ok": all(c.ok for c in checks), "checks": [vars(c) for c in checks]})
    else:
        render_checks(checks)
    return 0 if all(c.ok for c in checks) else 1


def _run_ps(args: argparse.Namespace) -> int:
    from envcapsule.console import render_containers
    from envcapsule.engine import connect
    from envcapsule.run import list_running

    with closing(connect()) as client:
        running = list_running(client)
    if args.json:
        _print_json([item.to_json() for item in running])
    else:
        render_containers(running)
    return 0


def _run_stop(args: argparse.Namespace) -> int:
    from envcapsule.engine import connect
    from envcapsule.errors import EnvcapsuleError
    from envcapsule.run import stop

    if not args.ids and not args.all:
        raise EnvcapsuleError("Say which containers to stop: give their ids (see `envcapsule ps`) or --all.")
    with closing(connect()) as client:
        stopped = stop(client, args.ids, all=args.all)
    if args.json:
        _print_json({"stopped": stopped})
    else:
        print(f"Stopped and removed {len(stopped)} container(s)." if stopped else "No envcapsule containers were running.")
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    from envcapsule.console import task_progress
    from envcapsule.run.verify import verify
    from envcapsule.snapshot import default_capsule_dir
    from envcapsule.status import record_verify

    with task_progress(enabled=not args.json) as progress:
        report = verify(
            args.notebook, sanitize=args.sanitize, timeout=args.timeout, base_image=args.base_image, progress=progress
        )
    if report.image:
        record_verify(default_capsule_dir(args.notebook.absolute()), report.to_json())
    if args.json:
        _print_json(report.to_json())
    else:
        print(report.render_text())
    return 0 if report.reproduced else 1


def _run_diff(args: argparse.Namespace) -> int:
    from envcapsule.console import render_drift
    from envcapsule.drift import diff

    drift = diff(args.notebook, python=args.python, capsule_dir=args.capsule)
    if args.json:
        _print_json(drift.to_json())
    else:
        render_drift(drift)
    return 0 if drift.identical else 1


def _run_inspect(args: argparse.Namespace) -> int:
    from envcapsule.capture import find_kernel_python, probe_interpreter
    from envcapsule.console import render_facts

    if args.notebook is None and args.python is None:
        args.python = sys.executable
    facts = probe_interpreter(find_kernel_python(args.notebook, args.python))
    if args.json:
        _print_json(facts.to_dict())
    else:
        render_facts(facts)
    return 0


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
