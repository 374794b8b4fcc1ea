"""``%envcapsule``: one line magic whose parser is built from the same options table as the CLI.

Loading the extension imports only this package, :mod:`envcapsule.commands` and the standard
library; docker, rich, httpx and the server code load when a subcommand needs them. Parser
errors raise ``UsageError``, so a typo never kills the kernel.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from envcapsule.commands import COMMANDS, add_options

DESCRIPTION = """\
Capture this notebook's environment, rebuild it in a container, and prove it reproduces.

  %envcapsule snapshot        lock this kernel's environment into <notebook>.capsule/
  %envcapsule status          none / up to date / drifted, image, containers, last verify
  %envcapsule diff            what changed in this kernel since the snapshot
  %envcapsule build           build the capsule into a container image
  %envcapsule launch          run the notebook in that image and show its URL
  %envcapsule verify          re-execute the notebook in the image and compare outputs
  %envcapsule share           binder/ for mybinder.org, with a link pinned to the commit
  %envcapsule doctor          can this host build and run the capsule?
  %envcapsule ps / stop       the containers serving capsules; stop one (or --all)

Every subcommand takes --notebook PATH when envcapsule cannot tell which notebook runs.
The magic needs envcapsule installed in this kernel's environment.
"""


class _HelpShown(Exception):
    """argparse printed help (or a version) and wanted to exit: the magic just returns."""


class MagicArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # raises instead of exiting the kernel
        raise UsageError(f"{self.prog}: {message} (see %envcapsule --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:  # returns to the magic instead
        if message:
            print(message, file=sys.stderr)
        raise _HelpShown()


def build_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="%envcapsule", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter, add_help=True
    )
    commands = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=MagicArgumentParser)
    commands.required = True
    for command in COMMANDS.values():
        if not command.magic:
            continue
        sub = commands.add_parser(command.name, help=command.summary, description=command.description)
        sub.add_argument("--notebook", metavar="PATH", help="the notebook (default: the one this kernel runs)")
        sub.add_argument(
            "--progress", choices=("auto", "widget", "text", "none"), default="auto", help="how to show long work (default auto)"
        )
        if command.target == "ids":
            sub.add_argument("ids", nargs="*", metavar="ID", help=command.target_help)
        add_options(sub, command, cli=False)
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
        from envcapsule.errors import EnvcapsuleError
        from envcapsule.magic import commands

        try:
            needs_notebook = COMMANDS[args.command].target != "ids" and args.command != "ps"
            notebook = _notebook(args.notebook, self.shell.user_ns if self.shell else {}) if needs_notebook else None
            return commands.run(args, notebook)
        except EnvcapsuleError as error:
            raise UsageError(error.message("magic")) from None


def _notebook(explicit: str | None, user_ns: dict[str, Any]) -> Path:
    from envcapsule.capture.notebook_path import find_notebook

    return find_notebook(explicit, user_ns)


def load_ipython_extension(ipython: Any) -> None:
    from envcapsule.capture.kernel_files import install_open_audit

    install_open_audit()  # from here on, the files the notebook opens are known to %envcapsule snapshot
    ipython.register_magics(EnvcapsuleMagics)
