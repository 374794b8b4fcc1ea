"""Sanitizers for `envcapsule verify`: only values that cannot reproduce are replaced, and each one is counted.

The defaults replace a value only when it provably depends on the run, never a value that
could be data:

- a memory address inside a repr (``<Colorbar at 0x7f3c…>``);
- a path under a temporary folder (the host's and the container's);
- the notebook's folder and the kernel environment's prefix, which differ between the host
  and the image by construction;
- a date-time (ISO 8601, a ``datetime`` repr, ``time.ctime()``, a date alone, a Unix
  timestamp) that falls inside the execution window of the run that produced the output:
  the notebook's recorded execution times for the stored outputs (none when it recorded
  none), the re-run's own start and end for the new ones. A date in the data stays.

The user's own sanitizers, in nbval's format (a ``regex:`` line followed by a ``replace:``
line), apply after the defaults to both sides. The user's file is read leniently
(indentation, no space after the colon).
"""

from __future__ import annotations

import calendar
import math
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePath

from envcapsule.errors import SanitizerError

FOLDER_PLACEHOLDER = "NOTEBOOK-FOLDER"
ENVIRONMENT_PLACEHOLDER = "KERNEL-ENV"
_FORMAT = "nbval's format: a `regex: PATTERN` line followed by a `replace: TEXT` line"

ADDRESS, TIMESTAMP, TEMPORARY, FOLDER, ENVIRONMENT = (
    "address",
    "timestamp",
    "temporary path",
    "notebook folder",
    "environment path",
)
PLURALS = {ADDRESS: "addresses"}

SLACK = 1.0  # seconds: printed times are often truncated to the second
EARLIEST_OFFSET, LATEST_OFFSET = -12 * 3600, 14 * 3600  # the UTC offsets in use: a naive local time may be in any
OFFSET_STEP = 900  # every UTC offset in use is a whole number of quarter hours

_REPR = re.compile(r"(?:<|&lt;)[^<>\n]*?(?:>|&gt;)")
_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]{4,16}\b")
_PATH_REST = r"[^\s'\"<>,;:()\[\]{}]*"
_TEMP_ROOTS = ("/tmp", "/var/tmp", "/private/var/folders", "/var/folders")
_WINDOWS_TEMP = re.compile(r"\b[A-Za-z]:\\[^\s'\"<>,;()]*?\\Temp\\[^\s'\"<>,;()]*")
_ISO = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?(?!\d)")
_DATETIME_REPR = re.compile(
    r"datetime\.datetime\((\d{4}), (\d{1,2}), (\d{1,2})(?:, (\d{1,2}))?(?:, (\d{1,2}))?(?:, (\d{1,2}))?(?:, (\d{1,6}))?"
    r"(, tzinfo=datetime\.timezone\.utc|, tzinfo=[^)]*\)?)?\)"
)
_CTIME = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}\b"
)
_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-]|[T ]\d{2}:)")
_EPOCH = re.compile(r"(?<![\d.])1[5-9]\d{8}(?:\.\d+)?(?![\d.])")


@dataclass(frozen=True)
class Sanitizer:
    section: str
    regex: str
    replace: str

    @property
    def kind(self) -> str:
        return f"[{self.section}] sanitizer" if self.section else "your sanitizer"


@dataclass(frozen=True)
class Window:
    """When a run executed, in seconds since the epoch (UTC)."""

    start: float
    end: float

    def holds(self, instant: float) -> bool:
        return self.start - SLACK <= instant <= self.end + SLACK

    def holds_local(self, wall: float) -> bool:
        """A naive local time, read as if it were UTC, is in the window under some UTC offset in use."""
        low = max(wall - self.end - SLACK, EARLIEST_OFFSET)
        high = min(wall - self.start + SLACK, LATEST_OFFSET)
        return low <= high and math.ceil(low / OFFSET_STEP) * OFFSET_STEP <= high

    def holds_day(self, midnight: float) -> bool:
        """Some instant of the window falls on this calendar day in some time zone."""
        return midnight - LATEST_OFFSET <= self.end + SLACK and midnight + 86400 - EARLIEST_OFFSET > self.start - SLACK


@dataclass(frozen=True)
class Sanitizers:
    """Everything applied to both sides of a comparison, in order: locations, run-dependent values, the user's."""

    locations: tuple[tuple[str, str, str], ...] = ()  # (kind, regex, replacement)
    defaults: bool = True
    user: tuple[Sanitizer, ...] = field(default=())

    def clean(self, text: str, windows: Sequence[Window], tally: Counter[str]) -> str:
        """``text`` with every sanitized value replaced; ``tally`` counts the replacements by kind."""
        for kind, regex, replacement in self.locations:
            text = _count(tally, kind, *re.subn(regex, replacement, text))
        if self.defaults:
            text = sanitize_addresses(text, tally)
            text = sanitize_temporary_paths(text, tally)
            text = sanitize_times(text, windows, tally)
        for sanitizer in self.user:
            text = _count(tally, sanitizer.kind, *re.subn(sanitizer.regex, sanitizer.replace, text))
        return text


def build_sanitizers(
    host_folder: PurePath,
    container_folder: str,
    environments: Iterable[str] = (),
    user_file: Path | None = None,
    *,
    defaults: bool = True,
) -> Sanitizers:
    """The sanitizers of one check; the user's file is checked here, before anything is built."""
    user = tuple(read_sanitizers(user_file)) if user_file is not None else ()
    if not defaults:
        return Sanitizers(defaults=False, user=user)
    locations = [(FOLDER, regex, FOLDER_PLACEHOLDER) for regex in location_patterns([str(host_folder), container_folder])]
    locations += [(ENVIRONMENT, regex, ENVIRONMENT_PLACEHOLDER) for regex in location_patterns(environments)]
    return Sanitizers(tuple(locations), True, user)


def location_patterns(folders: Iterable[str]) -> list[str]:
    """A folder near the root ("/", "/home") would rewrite unrelated paths, so it is left alone."""
    unique = dict.fromkeys(folder.rstrip("/") for folder in folders if folder)
    return [re.escape(folder) + r"(?![\w.-])" for folder in unique if len(PurePath(folder).parts) >= 3]


def describe(tally: Counter[str]) -> str:
    """A tally in words, e.g. "2 values sanitized: 1 address, 1 timestamp"."""
    total = sum(tally.values())
    parts = ", ".join(f"{count} {kind if count == 1 else PLURALS.get(kind, kind + 's')}" for kind, count in sorted(tally.items()))
    return f"{total} value{'s' if total != 1 else ''} sanitized: {parts}"


def sanitize_addresses(text: str, tally: Counter[str]) -> str:
    def inside(match: re.Match[str]) -> str:
        return _count(tally, ADDRESS, *_ADDRESS.subn("at 0xADDRESS", match.group(0)))

    return _REPR.sub(inside, text) if "0x" in text else text


def sanitize_temporary_paths(text: str, tally: Counter[str]) -> str:
    roots = dict.fromkeys([tempfile.gettempdir().rstrip("/\\"), *_TEMP_ROOTS])
    pattern = "|".join(re.escape(root) for root in roots if root.startswith("/"))
    text = _count(tally, TEMPORARY, *re.subn(rf"(?<![\w./-])(?:{pattern})/{_PATH_REST}", "TMPPATH", text))
    return _count(tally, TEMPORARY, *_WINDOWS_TEMP.subn("TMPPATH", text))


def sanitize_times(text: str, windows: Sequence[Window], tally: Counter[str]) -> str:
    """Date-times inside one of ``windows`` become DATETIME, DATE or TIMESTAMP; with no window, none is touched."""
    if not windows:
        return text

    def replace(match: re.Match[str], instant: float | None, local: float | None, day: float | None, word: str) -> str:
        inside = any(
            (instant is not None and window.holds(instant))
            or (local is not None and window.holds_local(local))
            or (day is not None and window.holds_day(day))
            for window in windows
        )
        if not inside:
            return match.group(0)
        tally[TIMESTAMP] += 1
        return word

    text = _ISO.sub(lambda m: replace(m, *_iso_instant(m), None, "DATETIME"), text)
    text = _DATETIME_REPR.sub(lambda m: replace(m, *_repr_instant(m), None, "DATETIME"), text)
    text = _CTIME.sub(lambda m: replace(m, None, _ctime_wall(m.group(0)), None, "DATETIME"), text)
    text = _DATE.sub(lambda m: replace(m, None, None, _midnight(m), "DATE"), text)
    return _EPOCH.sub(lambda m: replace(m, float(m.group(0)), None, None, "TIMESTAMP"), text)


def _iso_instant(match: re.Match[str]) -> tuple[float | None, float | None]:
    """(UTC instant, None) for a time with an offset; (None, wall clock read as UTC) for a naive one."""
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    wall = _wall(year, month, day, hour, minute, second, (fraction or "0")[:6].ljust(6, "0"))
    if wall is None or zone is None:
        return None, wall
    if zone == "Z":
        return wall, None
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return wall - sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60), None


def _repr_instant(match: re.Match[str]) -> tuple[float | None, float | None]:
    year, month, day, hour, minute, second, micro, zone = match.groups()
    wall = _wall(year, month, day, hour or "0", minute or "0", second or "0", (micro or "0").rjust(6, "0"))
    if wall is None:
        return None, None
    if zone and "timezone.utc" in zone:
        return wall, None
    return (None, None) if zone else (None, wall)  # another zone's offset is not in the repr: leave it alone


def _ctime_wall(text: str) -> float | None:
    try:
        return calendar.timegm(datetime.strptime(text, "%a %b %d %H:%M:%S %Y").timetuple())
    except ValueError:
        return None


def _midnight(match: re.Match[str]) -> float | None:
    return _wall(match.group(1), match.group(2), match.group(3), "0", "0", "0", "0")


def _wall(year: str, month: str, day: str, hour: str, minute: str, second: str, micro: str) -> float | None:
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=timezone.utc)
    except ValueError:
        return None  # not a real date-time (month 13, hour 25): data, not a clock reading
    return (moment + timedelta(microseconds=int(micro))).timestamp()


def _count(tally: Counter[str], kind: str, text: str, replaced: int) -> str:
    if replaced:
        tally[kind] += replaced
    return text


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


def _value(line: str, key: str) -> str:
    rest = line.lstrip()[len(key) :].rstrip("\r\n")
    return rest[1:] if rest.startswith(" ") else rest


def _same_groups(compiled: re.Pattern[str]) -> re.Pattern[str]:
    """A pattern that matches the empty string with the same numbered and named groups as ``compiled``."""
    names = {number: name for name, number in compiled.groupindex.items()}
    return re.compile("".join(f"(?P<{names[n]}>)" if n in names else "()" for n in range(1, compiled.groups + 1)))
