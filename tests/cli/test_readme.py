"""The README names only commands and flags that exist: every `envcapsule …` and `%envcapsule …` in it is checked.

The commands are read from the README as a user would copy them, and each subcommand's
`--help` is asked of the installed `envcapsule` script (and of the magic's parser).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from envcapsule.magic import MagicArgumentParser
from envcapsule.magic import build_parser as magic_parser
from tests.cli.shell import envcapsule

README = Path(__file__).resolve().parents[2] / "README.md"
_COMMAND = re.compile(r"^envcapsule ([a-z]+)(.*)$")
_MAGIC = re.compile(r"^%envcapsule ([a-z]+)(.*)$")
_FLAG = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")
_INLINE = re.compile(r"`([^`]+)`")


def code_in_readme() -> list[str]:
    """What a user copies from the README: the lines of code blocks (console prompts stripped) and inline code."""
    snippets: list[str] = []
    in_block = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            snippets.append(line.removeprefix("$ ").split("  #")[0].split("# ")[0].strip())
        else:
            snippets += [span.strip() for span in _INLINE.findall(line)]
    return snippets


def readme_commands(pattern: re.Pattern[str]) -> list[tuple[str, list[str]]]:
    """Each ``(subcommand, flags)`` the README shows as code."""
    found = []
    for snippet in code_in_readme():
        match = pattern.match(snippet)
        if match:
            found.append((match.group(1), _FLAG.findall(match.group(2))))
    return found


@cache
def cli_help(subcommand: str) -> str | None:
    completed = envcapsule(subcommand, "--help", timeout=60)
    return completed.stdout if completed.code == 0 else None


def test_the_readme_shows_the_main_story() -> None:
    shown = {name for name, _ in readme_commands(_COMMAND)}
    assert {"snapshot", "build", "launch", "verify", "status", "diff", "ps", "stop", "share", "push"} <= shown


@pytest.mark.parametrize(("subcommand", "flags"), readme_commands(_COMMAND), ids=lambda value: str(value))
def test_every_readme_command_and_flag_exists(subcommand: str, flags: list[str]) -> None:
    text = cli_help(subcommand)
    assert text is not None, f"the README shows `envcapsule {subcommand}`, which the CLI does not have"
    missing = [flag for flag in flags if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)]
    assert not missing, f"`envcapsule {subcommand}` has no {', '.join(missing)}, but the README shows it"


def test_every_readme_magic_subcommand_exists() -> None:
    parser = magic_parser()
    subcommands = next(action for action in parser._actions if action.dest == "command").choices
    assert isinstance(subcommands, dict)
    for subcommand, flags in readme_commands(_MAGIC):
        assert subcommand in subcommands, f"the README shows `%envcapsule {subcommand}`, which the magic does not have"
        sub = subcommands[subcommand]
        assert isinstance(sub, MagicArgumentParser)
        known = {flag for action in sub._actions for flag in action.option_strings}
        assert set(flags) <= known, f"`%envcapsule {subcommand}` has no {', '.join(sorted(set(flags) - known))}"
