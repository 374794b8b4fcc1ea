"""verify(): re-execute the notebook inside its capsule's image with nbval and compare outputs cell by cell.

The notebook checked is the user's current file: its stored outputs are the reference. The
check runs in a throwaway container with no network, no capabilities and no host mounts;
the notebook and the sanitizer file go in with ``put_archive``, nbval's JUnit report comes
out with ``get_archive`` once pytest exits (so no log driver can cut it), and the container
is removed whatever happens: an error, the total timeout, Ctrl-C.

nbval names its test items ``Cell N``, where N counts the notebook's *code* cells from 0
(nbval/plugin.py, ``IPyNbFile.collect``). envcapsule reports each cell by its position in
the notebook's ``cells`` list (what nbformat and JupyterLab count, from 0) and its ``id``.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import re
import secrets
import tarfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from envcapsule.capsule import MANIFEST
from envcapsule.capture import read_notebook
from envcapsule.errors import CapsuleError, EnvcapsuleError
from envcapsule.image.dockerfile import HOME, NB_UID, SERVER_PREFIX
from envcapsule.progress import NullProgress, Progress
from envcapsule.run.launch import _discard  # the same removal launch uses: by handle, else by unique name
from envcapsule.run.launched import MANAGED_LABEL
from envcapsule.run.sanitize import compose_sanitizers

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

CellStatus = Literal["reproduced", "differs", "errored", "skipped"]
ReportStatus = Literal["reproduced", "not-reproduced", "no-outputs"]

VERIFY_LABEL = "envcapsule.verify"
VERIFY_DIR = f"{HOME}/.envcapsule-verify"
SANITIZE_FILE = f"{VERIFY_DIR}/sanitize.cfg"
PYTEST_INI = f"{VERIFY_DIR}/pytest.ini"  # an empty config: no pytest.ini or pyproject.toml in $HOME is read
JUNIT_REPORT = f"{VERIFY_DIR}/report.xml"
KERNEL_NAME = "python3"  # the image's one kernelspec, which runs the capsule's kernel environment
STARTUP_ALLOWANCE = 60.0  # container start + kernel start (nbval's own kernel start-up limit is 60 s)
POLL_INTERVAL = 0.25
LOG_LINES = 15
_ANSI = re.compile(r"(?:\x1b|#x1B)\[[0-9;]*[A-Za-z]")  # pytest's JUnit writer spells ESC as "#x1B"
_CELL_LINE = re.compile(r"::Cell (\d+)(?: (PASSED|FAILED|SKIPPED|XFAIL|XPASS|ERROR)\b)?")
_COLLECTED = re.compile(r"^collect(?:ing \.\.\. collect)?ed (\d+) items?", re.MULTILINE)
_NO_NBVAL = ("No module named pytest", "unrecognized arguments: --nbval", "no such option: --nbval")


class VerifyError(EnvcapsuleError):
    """The check itself could not run: no capsule, no nbval in the image, no report, a timeout."""


class VerifyTimeout(VerifyError):
    """The check ran past its total time limit; its container was stopped and removed."""


@dataclass(frozen=True)
class CellResult:
    index: int  # position in the notebook's cells, counted from 0 like nbformat and JupyterLab
    id: str | None
    status: CellStatus
    diff: str | None = None
    message: str | None = None

    @property
    def label(self) -> str:
        return cell_label(self.index, self.id)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "status": self.status, "diff": self.diff, "message": self.message}


@dataclass(frozen=True)
class VerifyReport:
    notebook: Path
    image: str | None
    status: ReportStatus
    cells: tuple[CellResult, ...]
    message: str

    @property
    def reproduced(self) -> bool:
        return self.status == "reproduced"

    @property
    def total(self) -> int:
        """Cells whose outputs were checked (skipped cells are not counted)."""
        return sum(1 for cell in self.cells if cell.status != "skipped")

    @property
    def reproduced_cells(self) -> int:
        return self._count("reproduced")

    @property
    def differing(self) -> int:
        return self._count("differs")

    @property
    def errored(self) -> int:
        return self._count("errored")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    def _count(self, status: CellStatus) -> int:
        return sum(1 for cell in self.cells if cell.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "notebook": str(self.notebook),
            "image": self.image,
            "status": self.status,
            "reproduced": self.reproduced,
            "total": self.total,
            "reproduced_cells": self.reproduced_cells,
            "differing": self.differing,
            "errored": self.errored,
            "skipped": self.skipped,
            "message": self.message,
            "cells": [cell.to_json() for cell in self.cells],
        }

    def render_text(self) -> str:
        """A plain-text report that reads the same on every run: no times, durations or temporary paths."""
        if self.status == "no-outputs":
            return self.message + "\n"
        where = f" in {self.image}" if self.image else ""
        name = self.notebook.name
        if self.reproduced:
            lines = [f"Reproduced {self.total} of {self.total} cells of {name}{where}."]
        elif self.total == 0:
            lines = [self.message]
        else:
            failed = self.differing + self.errored
            lines = [
                f"{failed} of {self.total} cells of {name} did not reproduce{where}: "
                f"{self.differing} differing, {self.errored} errored, {self.reproduced_cells} reproduced."
            ]
        for cell in self.cells:
            if cell.status == "reproduced":
                continue
            lines.append(f"{cell.label} {cell.status}" + (f": {cell.message}" if cell.message else ""))
            if cell.diff:
                lines += [f"    {line}" if line else "" for line in cell.diff.splitlines()]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CodeCell:
    number: int  # nbval's N in "Cell N": the count of code cells before this one
    index: int
    id: str | None
    unchecked: str | None  # why nbval runs this cell without comparing its outputs, if it does


def verify(
    notebook: Path,
    *,
    capsule_dir: Path | None = None,
    sanitize: Path | None = None,
    timeout: float = 120.0,
    base_image: str | None = None,
    client: DockerClient | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Re-execute ``notebook`` in its capsule's image and compare every code cell's outputs with the stored ones.

    ``timeout`` is how long one cell may run (nbval's cell timeout, reported on that cell);
    the whole check is stopped after ``timeout`` per code cell plus a minute's allowance for start-up.
    """
    from envcapsule.engine import engine_client
    from envcapsule.snapshot import default_capsule_dir

    notebook = Path(notebook)
    content = read_notebook(notebook)
    if timeout <= 0:
        raise VerifyError(f"The timeout must be a positive number of seconds, not {timeout:g}; pass e.g. 120.")
    cells = code_cells(content)
    if not any(cell.get("outputs") for cell in content["cells"] if cell.get("cell_type") == "code"):
        return no_outputs_report(notebook)
    sanitizers = compose_sanitizers(notebook.absolute().parent, HOME, sanitize)
    folder = capsule_dir or default_capsule_dir(notebook)
    if not (folder / MANIFEST).is_file():
        raise CapsuleError(
            f"{notebook.name} has no capsule at {folder}; run `envcapsule snapshot {notebook}` first, then verify again."
        )
    progress = progress or NullProgress()
    with engine_client(client) as engine:
        return _check(notebook, content, cells, sanitizers, folder, timeout, base_image, engine, progress)


def _check(
    notebook: Path,
    content: Mapping[str, Any],
    cells: Sequence[CodeCell],
    sanitizers: str,
    folder: Path,
    timeout: float,
    base_image: str | None,
    client: DockerClient,
    progress: Progress,
) -> VerifyReport:
    """Build or find the image, run nbval in it, and read its report."""
    from envcapsule.image.build import build

    image = build(folder, base_image=base_image, client=client, progress=progress).image
    files = {
        f"{VERIFY_DIR}/": b"",
        SANITIZE_FILE: sanitizers.encode(),
        PYTEST_INI: b"[pytest]\n",
        f"{HOME}/{notebook.name}": json.dumps(content, ensure_ascii=False).encode(),
    }
    progress.step(f"Re-executing {notebook.name} in {image}", total=len(cells))
    exit_code, report, log = run_check(
        client,
        image,
        files,
        nbval_command(notebook.name, timeout),
        run_limit(timeout, len(cells)),
        cells,
        progress,
    )
    if report is None:
        raise VerifyError(missing_report_sentence(image, exit_code, log))
    results = cell_results(parse_junit(report, notebook.name), cells)
    return make_report(notebook, image, results)


def run_limit(cell_timeout: float, cells: int) -> float:
    """The bound on the whole check: every cell may use its whole timeout, plus start-up."""
    return cell_timeout * max(cells, 1) + STARTUP_ALLOWANCE


def nbval_command(notebook_name: str, cell_timeout: float) -> list[str]:
    """pytest with nbval from the image's server environment; -vv logs each cell's outcome as it finishes, for progress."""
    return [
        f"{SERVER_PREFIX}/bin/python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--noconftest",
        "-c",
        PYTEST_INI,
        f"--rootdir={HOME}",
        "-vv",  # also keeps nbval's output reprs whole, so the differences can be diffed line by line
        "--tb=no",
        "-rN",
        "--color=no",
        "--nbval",
        f"--nbval-kernel-name={KERNEL_NAME}",
        f"--nbval-cell-timeout={cell_timeout:g}",
        f"--nbval-sanitize-with={SANITIZE_FILE}",
        f"--junitxml={JUNIT_REPORT}",
        f"{HOME}/{notebook_name}",
    ]


def container_options(command: Sequence[str], name: str) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.create``: locked down, offline, nothing mounted."""
    return {
        "command": list(command),
        "name": name,
        "user": f"{NB_UID}:{NB_UID}",
        "working_dir": HOME,
        "environment": {"PYTHONUNBUFFERED": "1"},  # pytest's per-cell lines reach the log as they happen
        "network_disabled": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "init": True,
        "labels": {MANAGED_LABEL: "true", VERIFY_LABEL: "true"},
    }


def code_cells(content: Mapping[str, Any]) -> list[CodeCell]:
    cells: list[CodeCell] = []
    for index, cell in enumerate(content.get("cells", [])):
        if cell.get("cell_type") == "code":
            cells.append(CodeCell(len(cells), index, cell.get("id") or None, unchecked_reason(cell)))
    return cells


def unchecked_reason(cell: Mapping[str, Any]) -> str | None:
    """nbval executes these cells but does not compare their outputs."""
    if cell.get("execution_count") is None and not cell.get("outputs"):
        return "never run in the saved notebook"
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    comments = {line.strip().lstrip("#").strip() for line in text.splitlines() if line.strip().startswith("#")}
    tags = cell.get("metadata", {}).get("tags") or []
    if comments & {"NBVAL_IGNORE_OUTPUT", "PYTEST_VALIDATE_IGNORE_OUTPUT"} or "nbval-ignore-output" in tags:
        return "marked NBVAL_IGNORE_OUTPUT"
    return None


def no_outputs_report(notebook: Path) -> VerifyReport:
    return VerifyReport(
        notebook=notebook,
        image=None,
        status="no-outputs",
        cells=(),
        message=f"{notebook.name} has no stored outputs to compare; run it, save it, and verify again.",
    )


# ---- the container -------------------------------------------------------------------------


def run_check(
    client: DockerClient,
    image: str,
    files: Mapping[str, bytes],
    command: Sequence[str],
    limit: float,
    cells: Sequence[CodeCell],
    progress: Progress,
) -> tuple[int, bytes | None, str]:
    """Run ``command`` in a fresh container of ``image`` with ``files`` put in; return (exit code, report, log)."""
    from docker.errors import APIError, ImageNotFound

    name = f"envcapsule-verify-{secrets.token_hex(4)}"
    container: Container | None = None
    try:
        container = client.containers.create(image, **container_options(command, name))
        container.put_archive("/", tar_of(files))
        container.start()
        exit_code = wait_for_exit(container, time.monotonic() + limit, limit, cells, progress)
        return exit_code, read_report(container), container_log(container)
    except ImageNotFound:
        raise VerifyError(f"The image {image} is not on this machine; build it first with `envcapsule build`.") from None
    except APIError as error:
        reason = str(error.explanation or error).strip()
        raise VerifyError(
            f"The Docker engine could not run the check in {image} ({reason}); check `docker info` and try again."
        ) from error
    finally:
        _discard(client, container, name)


def tar_of(files: Mapping[str, bytes]) -> bytes:
    """An in-memory tar of absolute paths, owned by the notebook user; a path ending in / is a folder."""
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, data in files.items():
            entry = tarfile.TarInfo(path.strip("/"))
            entry.uid = entry.gid = NB_UID
            entry.uname = entry.gname = "jovyan"
            entry.mtime = now
            if path.endswith("/"):
                entry.type, entry.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(entry)
            else:
                entry.size, entry.mode = len(data), 0o644
                archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def wait_for_exit(container: Container, deadline: float, limit: float, cells: Sequence[CodeCell], progress: Progress) -> int:
    """Poll until the container exits, reporting each finished cell; past ``deadline``, raise VerifyTimeout."""
    reported = 0
    while True:
        container.reload()
        state = container.attrs.get("State", {})
        log = container_log(container)
        finished = finished_cells(log)
        for number, outcome in finished[reported:]:
            progress.advance(f"{_label(cells, number)}: {outcome.lower()}")
        reported = max(reported, len(finished))
        if state.get("Status") in ("exited", "dead"):
            return int(state.get("ExitCode", -1))
        if time.monotonic() >= deadline:
            running = running_cell(log)
            if running is None:
                what = "the kernel had not started"
            elif running == 0:
                what = f"the kernel was starting or {_label(cells, running)} was running"
            else:
                what = f"{_label(cells, running)} was still running"
            raise VerifyTimeout(
                f"The check did not finish within {limit:g} s ({what}), so its container was stopped and removed; "
                "verify again with a longer timeout, or make that cell faster."
            )
        time.sleep(POLL_INTERVAL)


def finished_cells(log: str) -> list[tuple[int, str]]:
    """(nbval cell number, outcome) for each "…::Cell N OUTCOME" line pytest -vv wrote so far."""
    return [(int(m.group(1)), m.group(2)) for m in map(_CELL_LINE.search, log.splitlines()) if m and m.group(2)]


def running_cell(log: str) -> int | None:
    """The cell running when the log was read: nbval runs cells in order, so the one after the last finished.

    pytest announces each cell before running it, but without a newline, and the engine's
    log keeps a partial line back; so the count of finished cells decides.
    """
    collected = _COLLECTED.search(log)
    if collected is None:
        return None
    finished = finished_cells(log)
    following = finished[-1][0] + 1 if finished else 0
    return following if following < int(collected.group(1)) else None


def read_report(container: Container) -> bytes | None:
    from docker.errors import NotFound

    try:
        stream, _ = container.get_archive(JUNIT_REPORT)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.extractfile(Path(JUNIT_REPORT).name)
        return member.read() if member is not None else None


def container_log(container: Container) -> str:
    raw = container.logs(stdout=True, stderr=True)
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


def missing_report_sentence(image: str, exit_code: int, log: str) -> str:
    if any(marker in log for marker in _NO_NBVAL):
        return (
            f"The image {image} has no pytest and nbval in its server environment (it was built by an older envcapsule); "
            "rebuild it with `envcapsule build --no-cache` and verify again."
        )
    tail = [line.rstrip() for line in log.splitlines() if line.strip()][-LOG_LINES:]
    lines = "\n".join(f"  {line}" for line in tail) or "  (the container wrote no log lines)"
    return f"nbval wrote no report in {image} (pytest exited with code {exit_code}); its last log lines:\n{lines}"


# ---- nbval's JUnit report --------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    kind: Literal["passed", "failure", "error", "skipped", "xfail"]
    message: str = ""
    text: str = ""


def parse_junit(report: bytes, notebook_name: str) -> dict[int, Outcome]:
    """nbval's outcome for each "Cell N" test case; a test case that is not a cell means nbval could not read the notebook."""
    try:
        root = ElementTree.fromstring(report)
    except ElementTree.ParseError as error:
        raise VerifyError(
            f"nbval's report from the image is not valid XML ({error}); verify again, and report a bug if it persists."
        ) from None
    outcomes: dict[int, Outcome] = {}
    for case in root.iter("testcase"):
        outcome = _outcome(case)
        match = re.fullmatch(r"Cell (\d+)", case.get("name", ""))
        if match is None:
            if outcome.kind in ("failure", "error"):
                raise VerifyError(
                    f"nbval could not read {notebook_name} in the image ({_last_line(outcome.text or outcome.message).removeprefix('E ').strip()}); "
                    "open the notebook in Jupyter, save it, and verify again."
                )
            continue
        outcomes[int(match.group(1))] = outcome
    return outcomes


def _outcome(case: ElementTree.Element) -> Outcome:
    by_tag = {child.tag: child for child in case}
    failure, error, skipped = by_tag.get("failure"), by_tag.get("error"), by_tag.get("skipped")
    if failure is not None:
        return Outcome("failure", _clean(failure.get("message", "")), _clean(failure.text or ""))
    if error is not None and not error.get("message", "").startswith("failed on teardown"):
        return Outcome("error", _clean(error.get("message", "")), _clean(error.text or ""))
    if skipped is not None:
        kind: Literal["skipped", "xfail"] = "xfail" if skipped.get("type") == "pytest.xfail" else "skipped"
        return Outcome(kind, skipped.get("message", ""))
    return Outcome("passed")


def cell_results(outcomes: Mapping[int, Outcome], cells: Sequence[CodeCell]) -> list[CellResult]:
    return [cell_result(cell, outcomes.get(cell.number)) for cell in cells]


def cell_result(cell: CodeCell, outcome: Outcome | None) -> CellResult:
    def result(status: CellStatus, message: str | None = None, diff: str | None = None) -> CellResult:
        return CellResult(cell.index, cell.id, status, diff, message)

    if outcome is None:
        return result("errored", "nbval did not report this cell (the run stopped before it)")
    if outcome.kind == "passed":
        return result("skipped", f"not compared: {cell.unchecked}") if cell.unchecked else result("reproduced")
    if outcome.kind == "skipped":
        return result("skipped", "skipped by an NBVAL_SKIP marker")
    if outcome.kind == "xfail":
        return result("skipped", "not checked: an earlier cell timed out")
    if outcome.kind == "error":
        setup = re.fullmatch(r'failed on setup with "(.*)"', outcome.message, re.DOTALL)
        return result("errored", f"the kernel did not start: {setup.group(1)}" if setup else _first_line(outcome.message))
    reason = _nbval_reason(outcome.text)
    if reason == "Cell outputs differ":
        key = re.search(r"mismatch '([^']*)'", _details(outcome.text))
        return result(
            "differs", f"its {key.group(1)} output differs" if key else "its outputs differ", readable_diff(outcome.text)
        )
    if reason == "Cell execution caused an exception":
        return result("errored", f"raised {_last_line(outcome.text)}")
    if reason == "Unrun reference cell has outputs":
        return result(
            "errored", "the stored cell has outputs but no execution count; run the notebook, save it, and verify again"
        )
    return result("errored", reason)


def readable_diff(text: str) -> str:
    """A unified diff of the stored and the re-executed output when nbval's reprs can be read back, else nbval's own text."""
    body = _details(text)
    key = re.search(r"mismatch '([^']*)'", body)
    for line in body.splitlines():
        values = _compared_values(line.strip())
        if values is not None and key is not None:
            return _unified(key.group(1), *values)
    kept = [line.rstrip() for line in body.splitlines() if "assert reference_output == test_output" not in line]
    return "\n".join(kept).strip("\n")


def _compared_values(line: str) -> tuple[str, str] | None:
    """nbval prints "<stored repr> == <re-executed repr>"; find the split where both sides are string literals."""
    for match in re.finditer(" == ", line):
        try:
            stored, rerun = ast.literal_eval(line[: match.start()]), ast.literal_eval(line[match.end() :])
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(stored, str) and isinstance(rerun, str):
            return stored, rerun
    return None


def _unified(key: str, stored: str, rerun: str) -> str:
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


def make_report(notebook: Path, image: str, cells: Sequence[CellResult]) -> VerifyReport:
    checked = [cell for cell in cells if cell.status != "skipped"]
    failed = [cell for cell in checked if cell.status != "reproduced"]
    name = notebook.name
    if not checked:
        message = f"No cell of {name} was compared (every code cell was skipped or never run); run it, save it, and verify again."
        return VerifyReport(notebook, image, "not-reproduced", tuple(cells), message)
    if not failed:
        skipped = len(cells) - len(checked)
        note = f" ({skipped} skipped cell{'s' if skipped != 1 else ''} not compared)" if skipped else ""
        message = f"All {len(checked)} checked cells of {name} reproduced their stored outputs in {image}{note}."
        return VerifyReport(notebook, image, "reproduced", tuple(cells), message)
    named = ", ".join(f"{cell.label} {_short(cell)}" for cell in failed[:3]) + (", and more" if len(failed) > 3 else "")
    message = f"{len(failed)} of {len(checked)} checked cells of {name} did not reproduce in {image}: {named}; see the report for details."
    return VerifyReport(notebook, image, "not-reproduced", tuple(cells), message)


def _short(cell: CellResult) -> str:
    return "differs" if cell.status == "differs" else f"errored ({cell.message})"


def cell_label(index: int, cell_id: str | None) -> str:
    return f"cell {index} (id {cell_id})" if cell_id else f"cell {index}"


def _label(cells: Sequence[CodeCell], number: int) -> str:
    found = next((cell for cell in cells if cell.number == number), None)
    return cell_label(found.index, found.id) if found else f"code cell {number}"


def _nbval_reason(text: str) -> str:
    """nbval's one-line reason, from its "Cell N: reason" line; else pytest's first line."""
    match = re.search(r"^Cell \d+: (.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else _first_line(text)


def _details(text: str) -> str:
    """What nbval wrote after the cell's source: the comparison or the traceback."""
    return text.split("\nTraceback:\n", 1)[-1]


def _clean(text: str) -> str:
    return _ANSI.sub("", text)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "no reason given"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "an exception"
