"""verify(): re-execute the notebook inside its capsule's image and compare outputs cell by cell.

The notebook checked is the user's current file: its stored outputs are the reference. The
check runs in a throwaway container with no network, no capabilities and no host mounts; the
notebook, the runner (``runner.py``) and its plan go in with ``put_archive``, the
runner's result comes out with ``get_archive`` once it exits (so no log driver can cut it),
and the container is removed whatever happens: an error, the total timeout, Ctrl-C.

The runner executes cells through nbclient as Jupyter does, and stops at once when the kernel
dies or a cell runs past its timeout. Comparing and sanitizing happen here, on the host,
because the default sanitizers need each side's execution window (sanitize.py). Cells are
reported by their position in the notebook's ``cells`` list (what nbformat and JupyterLab
count, from 0) and their ``id``.
"""

from __future__ import annotations

import io
import json
import secrets
import signal
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envcapsule._toml import loads as toml_loads
from envcapsule.capsule import FACTS, MANIFEST
from envcapsule.capture import read_notebook
from envcapsule.contract import HOME, KERNEL_PREFIX, MANAGED_LABEL, NB_UID, SERVER_PREFIX, VERIFY_LABEL
from envcapsule.engine import engine_reason
from envcapsule.errors import CapsuleError, EnvcapsuleError
from envcapsule.progress import NullProgress, Progress
from envcapsule.run.launch import _discard  # the same removal launch uses: by handle, else by unique name
from envcapsule.verify.compare import CodeCell, code_cells, compare_outputs, recorded_windows, text_of
from envcapsule.verify.conditions import read_conditions
from envcapsule.verify.report import CellResult, VerifyReport, cell_label, make_report, no_outputs_report
from envcapsule.verify.sanitize import Sanitizers, Window, build_sanitizers

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

__all__ = ["CellResult", "VerifyError", "VerifyReport", "VerifyTimeout", "verify"]

VERIFY_DIR = f"{HOME}/.envcapsule-verify"
RUNNER = f"{VERIFY_DIR}/runner.py"
PLAN = f"{VERIFY_DIR}/plan.json"
RESULT = f"{VERIFY_DIR}/result.json"
KERNEL_NAME = "python3"  # the image's one kernelspec, which runs the capsule's kernel environment
STARTUP_ALLOWANCE = 60.0  # container start + kernel start (the runner's own kernel start-up limit is 60 s)
POLL_INTERVAL = 0.25
LOG_LINES = 15
EVENT = "envcapsule-verify "  # the runner's event lines (runner.EVENT)
_NO_RUNNER = ("No module named 'nbclient'", "No module named 'nbformat'", "No module named nbclient")


class VerifyError(EnvcapsuleError):
    """The check itself could not run: no capsule, no nbclient in the image, no result, a timeout."""


class VerifyTimeout(VerifyError):
    """The check ran past its total time limit; its container was stopped and removed."""


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    result: dict[str, Any] | None
    log: str
    oom_killed: bool


def verify(
    notebook: Path,
    *,
    capsule_dir: Path | None = None,
    sanitize: Path | None = None,
    default_sanitizers: bool = True,
    timeout: float = 120.0,
    base_image: str | None = None,
    client: DockerClient | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Re-execute ``notebook`` in its capsule's image and compare every code cell's outputs with the stored ones.

    ``timeout`` is how long one cell may run (reported on that cell); the whole check is
    stopped after ``timeout`` per code cell plus a minute's allowance for start-up.
    ``default_sanitizers=False`` compares with only the sanitizers in ``sanitize``.
    """
    from envcapsule.engine import engine_client
    from envcapsule.snapshot import default_capsule_dir

    notebook = Path(notebook)
    content = read_notebook(notebook)
    if not timeout > 0:
        raise VerifyError(f"The timeout must be a positive number of seconds, not {timeout:g}; pass e.g. 120.")
    cells = code_cells(content)
    if not any(cell.get("outputs") for cell in content["cells"] if cell.get("cell_type") == "code"):
        return no_outputs_report(notebook)
    folder = capsule_dir or default_capsule_dir(notebook)
    manifest, facts = read_manifest(folder, notebook)
    prefix = (facts.get("interpreter") or {}).get("prefix")
    sanitizers = build_sanitizers(
        notebook.absolute().parent, HOME, [prefix or "", KERNEL_PREFIX], sanitize, defaults=default_sanitizers
    )
    progress = progress or NullProgress()
    with engine_client(client) as engine:
        return _check(notebook, content, cells, sanitizers, folder, manifest, timeout, base_image, engine, progress)


def read_manifest(folder: Path, notebook: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The capsule's manifest and its facts (an empty mapping where facts.json is absent)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise CapsuleError(
            f"{notebook.name} has no capsule at {folder}; run `envcapsule snapshot {notebook}` first, then verify again."
        )
    try:
        manifest = toml_loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CapsuleError(f"The capsule manifest {path} cannot be read ({error}); snapshot the notebook again.") from None
    try:
        facts = json.loads((folder / FACTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        facts = {}
    return manifest, facts if isinstance(facts, dict) else {}


def _check(
    notebook: Path,
    content: Mapping[str, Any],
    cells: Sequence[CodeCell],
    sanitizers: Sanitizers,
    folder: Path,
    manifest: Mapping[str, Any],
    timeout: float,
    base_image: str | None,
    client: DockerClient,
    progress: Progress,
) -> VerifyReport:
    """Build or find the image, run the notebook in it, and compare what it printed with what is stored."""
    from envcapsule.image.build import build

    built = build(folder, base_image=base_image, client=client, progress=progress)
    image = built.image
    wants_system = bool((manifest.get("system") or {}).get("packages"))
    files = {
        f"{VERIFY_DIR}/": b"",
        RUNNER: resources.files("envcapsule.verify").joinpath("runner.py").read_bytes(),
        PLAN: json.dumps(run_plan(notebook.name, cells, timeout, wants_system)).encode(),
        f"{HOME}/{notebook.name}": json.dumps(content, ensure_ascii=False).encode(),
    }
    progress.step(f"Re-executing {notebook.name} in {image}", total=sum(1 for cell in cells if cell.skip is None))
    outcome = run_check(client, image, files, runner_command(), run_limit(timeout, len(cells)), cells, progress)
    result = checked_result(image, outcome, cells)
    conditions = read_conditions(
        image,
        manifest,
        image_attrs=_image_attrs(client, image),
        engine_architecture=_engine_architecture(client),
        python_image=(result.get("language_info") or {}).get("version"),
        machine_image=result.get("machine"),
        base_image=getattr(built, "base_image", None) or None,
        base_digest=getattr(built, "base_image_digest", None),
        system_packages=result.get("system_packages"),
    )
    results = cell_results(content, cells, result, sanitizers, timeout, outcome.oom_killed)
    return make_report(notebook, image, results, conditions, ran_at=float(result.get("started") or time.time()))


def run_plan(notebook_name: str, cells: Sequence[CodeCell], timeout: float, system_packages: bool) -> dict[str, Any]:
    return {
        "notebook": f"{HOME}/{notebook_name}",
        "kernel": KERNEL_NAME,
        "timeout": timeout,
        "cwd": HOME,
        "cells": [{"index": cell.index, "run": cell.skip is None} for cell in cells],
        "system_packages": system_packages,
    }


def run_limit(cell_timeout: float, cells: int) -> float:
    """The bound on the whole check: every cell may use its whole timeout, plus start-up."""
    return cell_timeout * max(cells, 1) + STARTUP_ALLOWANCE


def runner_command() -> list[str]:
    """The runner under the image's server environment, which has nbclient (JupyterLab needs it)."""
    return [f"{SERVER_PREFIX}/bin/python", RUNNER, PLAN, RESULT]


def container_options(command: Sequence[str], name: str) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.create``: locked down, offline, nothing mounted."""
    return {
        "command": list(command),
        "name": name,
        "user": f"{NB_UID}:{NB_UID}",
        "working_dir": HOME,
        "environment": {"PYTHONUNBUFFERED": "1"},  # the runner's event lines reach the log as they happen
        "network_disabled": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "init": True,
        "labels": {MANAGED_LABEL: "true", VERIFY_LABEL: "true"},
    }


# ---- the container -------------------------------------------------------------------------


def run_check(
    client: DockerClient,
    image: str,
    files: Mapping[str, bytes],
    command: Sequence[str],
    limit: float,
    cells: Sequence[CodeCell],
    progress: Progress,
) -> RunOutcome:
    """Run ``command`` in a fresh container of ``image`` with ``files`` put in; return what it left."""
    from docker.errors import APIError, ImageNotFound

    name = f"envcapsule-verify-{secrets.token_hex(4)}"
    container: Container | None = None
    try:
        container = client.containers.create(image, **container_options(command, name))
        container.put_archive("/", tar_of(files))
        container.start()
        state = wait_for_exit(container, time.monotonic() + limit, limit, cells, progress)
        raw = read_result(container)
        try:
            result = json.loads(raw) if raw is not None else None
        except ValueError:
            result = None
        return RunOutcome(int(state.get("ExitCode", -1)), result, container_log(container), bool(state.get("OOMKilled")))
    except ImageNotFound:
        raise VerifyError(f"The image {image} is not on this machine; build it first with `envcapsule build`.") from None
    except APIError as error:
        raise VerifyError(
            f"The Docker engine could not run the check in {image} ({engine_reason(error)}); check `docker info` and try again."
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


def wait_for_exit(
    container: Container, deadline: float, limit: float, cells: Sequence[CodeCell], progress: Progress
) -> dict[str, Any]:
    """Poll until the container exits, reporting each finished cell; past ``deadline``, raise VerifyTimeout."""
    reported = 0
    while True:
        container.reload()
        state = container.attrs.get("State", {})
        log = container_log(container)
        finished = [event for event in runner_events(log) if event.get("event") in ("done", "timeout", "kernel-died")]
        for event in finished[reported:]:
            progress.advance(f"{_label(cells, event.get('index'))}: {_event_words(event)}")
        reported = max(reported, len(finished))
        if state.get("Status") in ("exited", "dead"):
            return dict(state)
        if time.monotonic() >= deadline:
            running = running_cell(log)
            what = "the kernel had not started" if running is None else f"{_label(cells, running)} was still running"
            raise VerifyTimeout(
                f"The check did not finish within {limit:g} s ({what}), so its container was stopped and removed; "
                "verify again with a longer timeout, or make that cell faster."
            )
        time.sleep(POLL_INTERVAL)


def _event_words(event: Mapping[str, Any]) -> str:
    if event["event"] == "done":
        return "ran"
    return "timed out" if event["event"] == "timeout" else "the kernel died"


def runner_events(log: str) -> list[dict[str, Any]]:
    events = []
    for line in log.splitlines():
        if line.startswith(EVENT):
            try:
                event = json.loads(line[len(EVENT) :])
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def running_cell(log: str) -> int | None:
    """The index of the cell the runner started last and has not finished, if any."""
    running = None
    for event in runner_events(log):
        if event.get("event") == "start":
            running = event.get("index")
        elif event.get("event") in ("done", "timeout", "kernel-died"):
            running = None
    return running


def read_result(container: Container) -> bytes | None:
    from docker.errors import NotFound

    try:
        stream, _ = container.get_archive(RESULT)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.extractfile(Path(RESULT).name)
        return member.read() if member is not None else None


def container_log(container: Container) -> str:
    raw = container.logs(stdout=True, stderr=True)
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)


def checked_result(image: str, outcome: RunOutcome, cells: Sequence[CodeCell]) -> dict[str, Any]:
    """The runner's result, or one sentence on why there is none or why the kernel never ran."""
    result = outcome.result
    if result is None:
        running = running_cell(outcome.log)
        if outcome.oom_killed:
            where = f" while {_label(cells, running)} was running" if running is not None else ""
            raise VerifyError(
                f"The verify container in {image} ran out of memory{where} and was killed; "
                "give the Docker engine more memory, or make that cell use less, and verify again."
            )
        raise VerifyError(missing_result_sentence(image, outcome.exit_code, outcome.log))
    stopped = result.get("stopped") or {}
    if stopped.get("reason") == "runner-error":
        raise VerifyError(
            f"The notebook's kernel could not run in {image} ({stopped.get('message')}); "
            "check the image with `envcapsule launch` and verify again."
        )
    return result


def missing_result_sentence(image: str, exit_code: int, log: str) -> str:
    if any(marker in log for marker in _NO_RUNNER):
        return (
            f"The image {image} has no nbclient in its server environment (it was built by an older envcapsule); "
            "rebuild it with `envcapsule build --no-cache` and verify again."
        )
    tail = [line.rstrip() for line in log.splitlines() if line.strip() and not line.startswith(EVENT)][-LOG_LINES:]
    lines = "\n".join(f"  {line}" for line in tail) or "  (the container wrote no log lines)"
    return f"The notebook runner wrote no result in {image} (it exited with code {exit_code}); its last log lines:\n{lines}"


# ---- cell by cell ----------------------------------------------------------------------------


def cell_results(
    content: Mapping[str, Any],
    cells: Sequence[CodeCell],
    result: Mapping[str, Any],
    sanitizers: Sanitizers,
    timeout: float,
    oom_killed: bool = False,
) -> list[CellResult]:
    """Each code cell's verdict: the stored outputs against the re-executed ones, or why it was not compared."""
    executed = {int(cell["index"]): cell for cell in result.get("cells", []) if isinstance(cell, dict)}
    stopped = result.get("stopped") or {}
    stored_windows = recorded_windows(content)
    rerun_windows = (
        [Window(float(result["started"]), float(result["ended"]))] if result.get("started") and result.get("ended") else []
    )
    results: list[CellResult] = []
    for cell in cells:
        stored = content["cells"][cell.index]

        def verdict(status: Any, message: str | None = None, **more: Any) -> CellResult:
            return CellResult(cell.index, cell.id, status, message=message, **more)  # noqa: B023

        if cell.skip:
            results.append(verdict("skipped", f"not run: {cell.skip}"))
        elif stopped.get("index") == cell.index:
            results.append(verdict("errored", stop_sentence(stopped, timeout, oom_killed), seconds=stopped.get("seconds")))
        elif cell.index not in executed:
            where = _label(cells, stopped.get("index")) if stopped.get("index") is not None else "an earlier cell"
            results.append(verdict("skipped", f"not run: the run stopped at {where}"))
        else:
            ran = executed[cell.index]
            results.append(judge(cell, stored, ran, sanitizers, stored_windows, rerun_windows, verdict))
    return results


def judge(
    cell: CodeCell,
    stored: Mapping[str, Any],
    ran: Mapping[str, Any],
    sanitizers: Sanitizers,
    stored_windows: Sequence[Window],
    rerun_windows: Sequence[Window],
    verdict: Callable[..., CellResult],
) -> CellResult:
    seconds = ran.get("seconds")
    outputs = ran.get("outputs") or []
    error = next((output for output in outputs if output.get("output_type") == "error"), None)
    if error is not None and not cell.raises:
        raised = f"{error.get('ename')}: {text_of(error.get('evalue', ''))}".rstrip(": ")
        return verdict("errored", f"raised {raised} (tag the cell raises-exception if that is expected)", seconds=seconds)
    if cell.ignore:
        return verdict("ignored", f"not compared: {cell.ignore}", seconds=seconds)
    if stored.get("execution_count") is None and stored.get("outputs"):
        return verdict(
            "errored",
            "the stored cell has outputs but no execution count; run the notebook, save it, and verify again",
            seconds=seconds,
        )
    comparison = compare_outputs(stored.get("outputs") or [], outputs, sanitizers, stored_windows, rerun_windows)
    sanitized = comparison.sanitized()
    if comparison.same:
        return verdict("reproduced", seconds=seconds, sanitized=sanitized)
    message = comparison.message
    if sanitizers.defaults and not stored_windows and comparison.rerun_sanitized and comparison.rerun_sanitized.get("timestamp"):
        message = (
            f"{message}; the notebook records no execution times, so its stored date-times count as data "
            "(save it after running with JupyterLab's Record Timing on, or add a --sanitize rule)"
        )
    return verdict("differs", message, diff=comparison.diff, seconds=seconds, sanitized=sanitized)


def stop_sentence(stopped: Mapping[str, Any], timeout: float, oom_killed: bool) -> str:
    seconds = float(stopped.get("seconds") or 0.0)
    if stopped.get("reason") == "timeout":
        return f"ran past the {timeout:g} s cell timeout and was stopped after {seconds:.1f} s"
    code = stopped.get("exit_code")
    if oom_killed:
        how = "was killed: the container ran out of memory"
    elif isinstance(code, int) and code < 0:
        how = f"was killed by {_signal_name(-code)}"
    elif isinstance(code, int):
        how = f"exited with code {code}"
    else:
        how = "died"
    return f"the kernel {how} while this cell ran (after {seconds:.1f} s); the run stopped here"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _label(cells: Sequence[CodeCell], index: Any) -> str:
    found = next((cell for cell in cells if cell.index == index), None)
    return cell_label(found.index, found.id) if found else f"cell {index}"


def _image_attrs(client: Any, image: str) -> dict[str, Any] | None:
    try:
        return dict(client.images.get(image).attrs)
    except Exception:  # conditions are reported as unknown rather than failing a finished check
        return None


def _engine_architecture(client: Any) -> str | None:
    try:
        return str(client.info().get("Architecture") or "") or None
    except Exception:
        return None
