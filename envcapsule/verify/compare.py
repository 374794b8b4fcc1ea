"""What verify checks in each code cell, and how a stored and a re-executed cell's outputs are compared.

Cells follow nbval's markers, so a notebook written for nbval verifies the same way: a
``# NBVAL_SKIP`` comment or an ``nbval-skip`` tag skips the cell, ``# NBVAL_IGNORE_OUTPUT`` /
``nbval-ignore-output`` runs it without comparing, ``# NBVAL_RAISES_EXCEPTION`` /
``nbval-raises-exception`` / ``raises-exception`` lets it raise. Outputs are compared as nbval
compares them: streams merged by name (with ``\\r`` and ``\\b`` applied), every MIME type of
rich outputs except PNG and JPEG images, an error's name and value but not its traceback,
never metadata or execution counts.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from envcapsule.verify.sanitize import Sanitizers, Window

_SKIP_COMMENTS = {"NBVAL_SKIP"}
_IGNORE_COMMENTS = {"NBVAL_IGNORE_OUTPUT", "PYTEST_VALIDATE_IGNORE_OUTPUT"}
_RAISES_COMMENTS = {"NBVAL_RAISES_EXCEPTION"}
_SKIP_TAGS = {"nbval-skip"}
_IGNORE_TAGS = {"nbval-ignore-output", "pytest-validate-ignore-output"}
_RAISES_TAGS = {"nbval-raises-exception", "raises-exception"}
NOT_COMPARED = frozenset(
    {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count", "transient"}
    | {"application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg"}  # widget model ids are random; images as nbval
)
_CARRIAGE_RETURN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)
_BACKSPACE = re.compile("[^\n]\x08")  # a character erased by a backspace


@dataclass(frozen=True)
class CodeCell:
    number: int  # the count of code cells before this one
    index: int  # position in the notebook's cells, counted from 0 like nbformat and JupyterLab
    id: str | None
    skip: str | None = None  # why the cell is not run
    ignore: str | None = None  # why the cell is run but its outputs are not compared
    raises: bool = False  # the author marked it as raising an exception


def code_cells(content: Mapping[str, Any]) -> list[CodeCell]:
    cells: list[CodeCell] = []
    for index, cell in enumerate(content.get("cells", [])):
        if cell.get("cell_type") == "code":
            cells.append(_plan(len(cells), index, cell))
    return cells


def _plan(number: int, index: int, cell: Mapping[str, Any]) -> CodeCell:
    comments = {
        line.strip().lstrip("#").strip() for line in text_of(cell.get("source", "")).splitlines() if line.strip().startswith("#")
    }
    tags = cell.get("metadata", {}).get("tags") or []
    tags = set(tags) if isinstance(tags, list) else set()
    skip = _reason(comments & _SKIP_COMMENTS, tags & _SKIP_TAGS)
    ignore = _reason(comments & _IGNORE_COMMENTS, tags & _IGNORE_TAGS)
    if ignore is None and cell.get("execution_count") is None and not cell.get("outputs"):
        ignore = "never run in the saved notebook"
    raises = bool(comments & _RAISES_COMMENTS or tags & _RAISES_TAGS)
    return CodeCell(number, index, cell.get("id") or None, skip, ignore, raises)


def _reason(comments: set[str], tags: set[str]) -> str | None:
    if comments:
        return f"marked # {sorted(comments)[0]}"
    if tags:
        return f"tagged {sorted(tags)[0]}"
    return None


def text_of(value: Any) -> str:
    """nbformat stores multi-line strings as lists of lines."""
    return "".join(value) if isinstance(value, list) else str(value)


def recorded_windows(content: Mapping[str, Any]) -> list[Window]:
    """Each cell's recorded execution window (nbclient, or JupyterLab's "record timing"); none when none were recorded."""
    windows = []
    for cell in content.get("cells", []):
        execution = (cell.get("metadata") or {}).get("execution") or {}
        instants = [_instant(value) for value in execution.values() if isinstance(value, str)]
        known = [instant for instant in instants if instant is not None]
        if known:
            windows.append(Window(min(known), max(known)))
    return windows


def _instant(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


@dataclass(frozen=True)
class Comparison:
    same: bool
    message: str | None = None
    diff: str | None = None
    stored_sanitized: Counter[str] | None = None
    rerun_sanitized: Counter[str] | None = None

    def sanitized(self) -> dict[str, int]:
        """Values sanitized per kind: the larger count of either side, since each side's value pairs with the other's."""
        stored, rerun = self.stored_sanitized or Counter(), self.rerun_sanitized or Counter()
        return {kind: max(stored[kind], rerun[kind]) for kind in sorted(set(stored) | set(rerun))}


def compare_outputs(
    stored: Sequence[Mapping[str, Any]],
    rerun: Sequence[Mapping[str, Any]],
    sanitizers: Sanitizers,
    stored_windows: Sequence[Window],
    rerun_windows: Sequence[Window],
) -> Comparison:
    stored_tally: Counter[str] = Counter()
    rerun_tally: Counter[str] = Counter()
    before = comparable(stored, sanitizers, stored_windows, stored_tally)
    after = comparable(rerun, sanitizers, rerun_windows, rerun_tally)
    tallies: dict[str, Any] = {"stored_sanitized": stored_tally, "rerun_sanitized": rerun_tally}
    missing, extra = sorted(set(before) - set(after)), sorted(set(after) - set(before))
    if missing or extra:
        parts = [f"stored {', '.join(missing)} output missing from the re-run"] if missing else []
        parts += [f"new {', '.join(extra)} output in the re-run"] if extra else []
        shown = "\n".join(
            f"{key} stored: {_show(before.get(key))}\n{key} re-run:  {_show(after.get(key))}" for key in missing + extra
        )
        return Comparison(False, "; ".join(parts), shown, **tallies)
    for key in before:
        if len(before[key]) != len(after[key]):
            message = f"{len(before[key])} stored {key} outputs, {len(after[key])} in the re-run"
            return Comparison(
                False, message, f"{key} stored: {_show(before[key])}\n{key} re-run:  {_show(after[key])}", **tallies
            )
        for old, new in zip(before[key], after[key]):
            if old != new:
                return Comparison(False, f"its {key} output differs", unified(key, _text(old), _text(new)), **tallies)
    return Comparison(True, **tallies)


def comparable(
    outputs: Sequence[Mapping[str, Any]], sanitizers: Sanitizers, windows: Sequence[Window], tally: Counter[str]
) -> dict[str, list[Any]]:
    """Outputs flattened to key → values in order, as nbval compares them, each string sanitized."""
    flat: dict[str, list[Any]] = defaultdict(list)
    for output in coalesce_streams(outputs):
        for key, value in output.items():
            if key in NOT_COMPARED:
                continue
            if key == "data" and isinstance(value, Mapping):
                for mime, data in value.items():
                    if mime not in NOT_COMPARED:
                        flat[mime].append(_clean(data, sanitizers, windows, tally))
            elif key == "text" and output.get("output_type") == "stream":
                flat[str(output.get("name", "stdout"))].append(_clean(value, sanitizers, windows, tally))
            else:
                flat[key].append(_clean(value, sanitizers, windows, tally))
    return dict(flat)


def coalesce_streams(outputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stream outputs of the same name merged into the first, with carriage returns and backspaces applied."""
    merged: list[dict[str, Any]] = []
    streams: dict[str, dict[str, Any]] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            name = str(output.get("name", "stdout"))
            if name in streams:
                streams[name]["text"] += text_of(output.get("text", ""))
                continue
            streams[name] = {**output, "text": text_of(output.get("text", ""))}
            merged.append(streams[name])
        else:
            merged.append(dict(output))
    for stream in streams.values():
        text = stream["text"]
        while True:
            shorter = _BACKSPACE.sub("", text)
            if len(shorter) == len(text):
                break
            text = shorter
        stream["text"] = _CARRIAGE_RETURN.sub("", text)
    return merged


def _clean(value: Any, sanitizers: Sanitizers, windows: Sequence[Window], tally: Counter[str]) -> Any:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = "".join(value)
    return sanitizers.clean(value, windows, tally) if isinstance(value, str) else value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)


def _show(values: Sequence[Any] | None) -> str:
    if not values:
        return "(none)"
    shown = " | ".join(_text(value) for value in values)
    return repr(shown if len(shown) <= 200 else shown[:200] + "…")


def unified(key: str, stored: str, rerun: str) -> str:
    if stored.splitlines() == rerun.splitlines():  # only line endings or a final newline differ
        return f"{key} stored in the notebook:   {stored!r}\n{key} re-executed in the image: {rerun!r}"
    lines = difflib.unified_diff(
        stored.splitlines(),
        rerun.splitlines(),
        fromfile=f"{key} stored in the notebook",
        tofile=f"{key} re-executed in the image",
        lineterm="",
    )
    return "\n".join(lines)
