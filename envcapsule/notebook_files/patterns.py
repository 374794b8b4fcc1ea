"""Patterns in gitignore syntax, for ``.envcapsuleignore``, ``--include`` and ``--exclude``.

Supported: ``#`` comments, ``!`` negation, a trailing ``/`` for folders only, a leading or inner
``/`` to anchor at the notebook's folder, ``*``, ``?``, ``[...]`` and ``**``. The last matching
line wins, as in git; a file inside a matched folder is matched too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILE = ".envcapsuleignore"


@dataclass(frozen=True)
class Pattern:
    text: str
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool


def compile_pattern(line: str) -> Pattern | None:
    text = line.rstrip("\n").rstrip()
    if not text or text.startswith("#"):
        return None
    negated = text.startswith("!")
    body = text[1:] if negated else text
    if body.startswith("\\"):
        body = body[1:]
    folders_only = body.endswith("/")
    body = body.rstrip("/")
    if not body:
        return None
    anchored = "/" in body
    body = body.lstrip("/")
    regex = _translate(body)
    prefix = "" if anchored else "(?:.*/)?"
    return Pattern(text, re.compile(f"^{prefix}{regex}$"), negated, folders_only)


def _translate(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
                i += 1
            else:
                inner = glob[i + 1 : end]
                if inner.startswith("!"):
                    inner = "^" + inner[1:]
                out.append(f"[{inner.replace(chr(92), chr(92) * 2)}]")
                i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


class PatternSet:
    """Matches relative POSIX paths of files against patterns, git's way."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.patterns = [p for p in (compile_pattern(line) for line in lines) if p is not None]

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, path: str) -> bool:
        parts = path.split("/")
        # A folder that matches takes its files with it: test the file and each folder above it.
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        matched = False
        for pattern in self.patterns:
            for depth, prefix in enumerate(prefixes):
                is_folder = depth < len(prefixes) - 1
                if pattern.folders_only and not is_folder:
                    continue
                if pattern.regex.match(prefix):
                    matched = not pattern.negated
                    break
        return matched


def ignore_file_lines(folder: Path) -> Sequence[str]:
    try:
        return (folder / IGNORE_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ()
