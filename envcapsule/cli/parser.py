"""The ``envcapsule`` argument parser, built from the one options table in :mod:`envcapsule.commands`."""

from __future__ import annotations

import argparse

from envcapsule._version import __version__
from envcapsule.commands import COMMANDS, Command, add_options

DESCRIPTION = """\
Capture a notebook's exact environment into a capsule, rebuild it as a container image
anywhere, relaunch the notebook inside it, and prove that it reproduces.

  envcapsule snapshot analysis.ipynb         # writes analysis.capsule/ beside it
  envcapsule build analysis.ipynb            # envcapsule/analysis:<hash>
  envcapsule launch analysis.ipynb           # JupyterLab on 127.0.0.1 with a token
  envcapsule verify analysis.ipynb           # re-execute in the image, compare outputs

Every command takes --json for scripts; `envcapsule COMMAND --help` explains each.
"""

Arguments = argparse.Namespace

_NAMED_TARGETS = {"notebook": "NOTEBOOK", "archive": "FILE.tar"}  # the rest are called `target`


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envcapsule", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"envcapsule {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for command in COMMANDS.values():
        _add_command(commands, command)
    return parser


def _add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], command: Command) -> None:
    description = command.description
    if command.examples:
        description += "\n\nexamples:\n" + "\n".join(f"  {example}" for example in command.examples)
    sub = commands.add_parser(
        command.name, help=command.summary, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if command.target == "ids":
        sub.add_argument("ids", nargs="*", metavar="ID", help=command.target_help)
    elif command.target is not None:
        dest = command.target if command.target in _NAMED_TARGETS else "target"
        metavar = _NAMED_TARGETS.get(command.target, command.target)
        sub.add_argument(dest, metavar=metavar, nargs="?" if command.target_optional else None, help=command.target_help)
    if command.python:
        sub.add_argument("--python", metavar="PATH", help="the kernel's interpreter (default: from the notebook's kernelspec)")
    add_options(sub, command, cli=True)
    if command.name == "push":
        _require(sub, "registry")
    if command.name == "export":
        _require(sub, "output")
    sub.add_argument("--json", action="store_true", help="print one JSON object instead of human output")


def _require(parser: argparse.ArgumentParser, dest: str) -> None:
    for action in parser._actions:
        if action.dest == dest:
            action.required = True
