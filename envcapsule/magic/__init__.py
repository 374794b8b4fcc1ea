"""``%envcapsule``: one line magic, one parser, the same core functions as the CLI.

Loading the extension imports only this module and the standard library; docker, rich,
httpx and the server code load when a subcommand needs them. Parser errors raise
``UsageError``, so a typo never kills the kernel.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

DESCRIPTION = """\
Capture this notebook's environment, rebuild it in a container, and prove it reproduces.

  %envcapsule snapshot        lock this kernel's environment into <notebook>.capsule/
  %envcapsule status          none / up to date / drifted, image, containers, last verify
  %envcapsule diff            what changed in this kernel since the snapshot
  %envcapsule build           build the capsule into a container image
  %envcapsule launch          run the notebook in that image and show its URL
  %envcapsule verify          re-execute the notebook in the image and compare outputs
  %envcapsule share           binder/ for mybinder.org, with a link pinned to the commit

Every subcommand takes --notebook PATH when envcapsule cannot tell which notebook runs.
"""


class _HelpShown(Exception):
    """argparse printed help (or a version) and wanted to exit: the magic just returns."""


class MagicArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see %envcapsule --help)")

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        if message:
            print(message, file=sys.stderr)
        raise _HelpShown()


def build_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="%envcapsule", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter, add_help=True
    )
    commands = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=MagicArgumentParser)
    commands.required = True

    def command(name: str, text: str) -> MagicArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--notebook", metavar="PATH", help="the notebook (default: the one this kernel runs)")
        sub.add_argument(
            "--progress", choices=("auto", "widget", "text", "none"), default="auto", help="how to show long work (default auto)"
        )
        return sub

    snap = command("snapshot", "lock this kernel's environment into a capsule beside the notebook")
    snap.add_argument("--out", metavar="DIR", help="capsule folder (default: <notebook stem>.capsule)")
    snap.add_argument("--strict", action="store_true", help="fail if any distribution cannot be locked exactly")
    snap.add_argument("--offline", action="store_true", help="use only cached index data")
    snap.add_argument("--include-tooling", action="store_true", help="keep what is installed only for envcapsule")
    snap.add_argument(
        "--minimal", action="store_true", help="only the distributions this kernel imported, with their dependencies"
    )

    build = command("build", "build the capsule into a container image")
    build.add_argument("--base-image", metavar="IMAGE")
    build.add_argument("--no-cache", action="store_true")

    launch = command("launch", "run the notebook in its capsule's image and show the URL")
    launch.add_argument("--base-image", metavar="IMAGE")
    launch.add_argument("--port", type=int, metavar="N")
    launch.add_argument("--mount", action="store_true", help="bind the notebook's folder at ~/work, read-write")
    launch.add_argument("--gpus", metavar="all|none|N", help="GPUs for a CUDA capsule (default all, after checks)")

    verify = command("verify", "re-execute the notebook in its image and compare every cell's outputs")
    verify.add_argument("--sanitize", metavar="FILE", help="extra nbval sanitizers")
    verify.add_argument("--timeout", type=float, default=120.0, metavar="S", help="seconds per cell (default 120)")
    verify.add_argument("--base-image", metavar="IMAGE")

    share = command("share", "write binder/ for mybinder.org and show a commit-pinned link and badge")
    share.add_argument("--hub", default="https://mybinder.org", metavar="URL", help="the BinderHub (default mybinder.org)")
    share.add_argument("--force", action="store_true", help="replace a binder/ envcapsule did not write (a backup is kept)")

    command("diff", "what changed in this kernel's environment since the snapshot")
    command("status", "the capsule's state: none / up to date / drifted, image, containers, last verify")
    return parser


@magics_class
class EnvcapsuleMagics(Magics):
    @line_magic
    def envcapsule(self, line: str) -> Any:
        """Capture, rebuild and verify this notebook's environment; `%envcapsule --help` explains."""
        try:
            args = build_parser().parse_args(shlex.split(line))
        except _HelpShown:
            return None
        from envcapsule import magic_commands
        from envcapsule.errors import EnvcapsuleError

        notebook = _notebook(args.notebook, self.shell.user_ns if self.shell else {})
        try:
            return magic_commands.run(args, notebook)
        except EnvcapsuleError as error:
            raise UsageError(str(error)) from None


def _notebook(explicit: str | None, user_ns: dict[str, Any]) -> Path:
    from envcapsule.capture.notebook_path import find_notebook
    from envcapsule.errors import EnvcapsuleError

    try:
        return find_notebook(explicit, user_ns)
    except EnvcapsuleError as error:
        raise UsageError(str(error)) from None


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(EnvcapsuleMagics)
