"""Sanitizers for `envcapsule verify`, in nbval's format: read, checked, and composed into one file.

nbval reads a single file (``--nbval-sanitize-with``) of ``regex:`` lines each followed by a
``replace:`` line, and applies the pairs in order to the stored and the re-executed outputs
alike. envcapsule composes that file from the notebook's folder (its host and its container
spelling), the defaults in ``default_sanitize.cfg``, and then the user's own file. The user's
file is read leniently (indentation, no space after the colon) and written back canonically,
because nbval silently ignores any line that is not spelled exactly ``regex: `` / ``replace: ``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePath

from envcapsule.errors import EnvcapsuleError

DEFAULTS = "default_sanitize.cfg"
FOLDER_PLACEHOLDER = "NOTEBOOK-FOLDER"
_FORMAT = "nbval's format: a `regex: PATTERN` line followed by a `replace: TEXT` line"


class SanitizerError(EnvcapsuleError):
    """A sanitizer file is unreadable or not in nbval's regex/replace format."""


@dataclass(frozen=True)
class Sanitizer:
    section: str
    regex: str
    replace: str


def default_sanitizers() -> list[Sanitizer]:
    """Memory addresses, dates and times, timestamps, temporary and site-packages paths."""
    text = resources.files("envcapsule.run").joinpath(DEFAULTS).read_text(encoding="utf-8")
    return parse_sanitizers(text, "envcapsule's default sanitizers")


def folder_sanitizers(host_folder: PurePath, container_folder: str) -> list[Sanitizer]:
    """The notebook's folder reads differently on the host and in the image; both become one placeholder."""
    folders = dict.fromkeys([str(host_folder), container_folder])  # ordered, without duplicates
    # A folder near the root ("/", "/home") would rewrite unrelated paths, so it is left alone.
    return [
        Sanitizer("notebook folder", re.escape(folder), FOLDER_PLACEHOLDER)
        for folder in folders
        if len(PurePath(folder).parts) >= 3
    ]


def read_sanitizers(path: Path) -> list[Sanitizer]:
    """The user's sanitizer file, checked line by line; one sentence says what is wrong and where."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise SanitizerError(
            f"The sanitizer file {path} cannot be read ({reason}); check its path and that it is UTF-8 text."
        ) from None
    sanitizers = parse_sanitizers(text, str(path))
    if not sanitizers:
        raise SanitizerError(f"The sanitizer file {path} holds no sanitizers; write each in {_FORMAT}.")
    return sanitizers


def parse_sanitizers(text: str, source: str) -> list[Sanitizer]:
    sanitizers: list[Sanitizer] = []
    section = ""
    pending: tuple[int, str] | None = None  # (line number, regex) waiting for its replace line
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if pending is not None:
            if not line.startswith("replace:"):
                raise SanitizerError(
                    f"Line {pending[0]} of {source} has a `regex:` that is not followed by a `replace:` line; "
                    f"write each sanitizer in {_FORMAT}."
                )
            sanitizers.append(checked(Sanitizer(section, pending[1], _value(raw, "replace:")), pending[0], source))
            pending = None
        elif not line or line.startswith(("#", ";")):
            continue
        elif line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif line.startswith("regex:"):
            pending = (number, _value(raw, "regex:"))
        elif line.startswith("replace:"):
            raise SanitizerError(
                f"Line {number} of {source} has a `replace:` with no `regex:` line above it; write each sanitizer in {_FORMAT}."
            )
        else:
            raise SanitizerError(
                f"Line {number} of {source} is not in {_FORMAT} (nor a [section] or a # comment); fix or remove it."
            )
    if pending is not None:
        raise SanitizerError(
            f"Line {pending[0]} of {source} has a `regex:` with no `replace:` line after it; write each sanitizer in {_FORMAT}."
        )
    return sanitizers


def checked(sanitizer: Sanitizer, line: int, source: str) -> Sanitizer:
    """Refuse a regex that does not compile, matches the empty string, or a replacement that does not fit it."""
    try:
        compiled = re.compile(sanitizer.regex)
    except re.error as error:
        raise SanitizerError(f"Line {line} of {source}: the regex {sanitizer.regex!r} is not valid ({error}); fix it.") from None
    if compiled.fullmatch(""):
        raise SanitizerError(
            f"Line {line} of {source}: the regex {sanitizer.regex!r} matches empty text, so it would rewrite every output; make it match something."
        )
    try:
        _same_groups(compiled).sub(sanitizer.replace, "")  # expands the replacement against the regex's groups
    except (re.error, IndexError) as error:
        raise SanitizerError(
            f"Line {line + 1} of {source}: the replacement {sanitizer.replace!r} does not fit its regex ({error}); "
            r"refer only to the regex's groups (\1 or \g<name>) and write a literal backslash as \\."
        ) from None
    return sanitizer


def render_sanitizers(sanitizers: Iterable[Sanitizer]) -> str:
    """One file in nbval's format, grouped by section, first occurrence of each regex kept."""
    lines = ["# Composed by `envcapsule verify`: the notebook folder, envcapsule's defaults, then yours."]
    seen: set[str] = set()
    section: str | None = None
    for sanitizer in sanitizers:
        if sanitizer.regex in seen:
            continue  # nbval keys its pairs by regex: a repeat would only move the first one's replacement
        seen.add(sanitizer.regex)
        if sanitizer.section != section:
            section = sanitizer.section
            lines += ["", f"[{section or 'sanitizer'}]"]
        lines += [f"regex: {sanitizer.regex}", f"replace: {sanitizer.replace}"]
    return "\n".join(lines) + "\n"


def compose_sanitizers(host_folder: PurePath, container_folder: str, user_file: Path | None = None) -> str:
    """The file nbval reads in the image; the user's file is checked here, before anything is built."""
    user: Sequence[Sanitizer] = read_sanitizers(user_file) if user_file is not None else ()
    return render_sanitizers([*folder_sanitizers(host_folder, container_folder), *default_sanitizers(), *user])


def _value(line: str, key: str) -> str:
    rest = line.lstrip()[len(key) :].rstrip("\r\n")
    return rest[1:] if rest.startswith(" ") else rest


def _same_groups(compiled: re.Pattern[str]) -> re.Pattern[str]:
    """A pattern that matches the empty string with the same numbered and named groups as ``compiled``."""
    names = {number: name for name, number in compiled.groupindex.items()}
    return re.compile("".join(f"(?P<{names[n]}>)" if n in names else "()" for n in range(1, compiled.groups + 1)))
