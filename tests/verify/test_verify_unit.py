"""verify without Docker: cell verdicts from the runner's result, conditions, the report's forms, the container's life.

The runner's results here have the shape runner.py writes (tests/verify/test_verify_kernel.py
runs it on a real kernel); the engine is a fake that hands them back.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from envcapsule.errors import CapsuleError, NotebookError
from envcapsule.progress import NullProgress
from envcapsule.verify import check as verify_module
from envcapsule.verify.check import (
    PLAN,
    RESULT,
    RUNNER,
    VerifyError,
    VerifyTimeout,
    cell_results,
    container_options,
    run_plan,
    running_cell,
    tar_of,
    verify,
)
from envcapsule.verify.compare import code_cells
from envcapsule.verify.conditions import read_conditions
from envcapsule.verify.report import make_report
from envcapsule.verify.sanitize import SanitizerError, build_sanitizers

IMAGE = "envcapsule/story:0123456789ab"
NOW = time.time()
STORED_RUN = NOW - 86400 * 30  # the author ran the notebook a month ago


def iso(instant: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(instant)) + f".{int(instant % 1 * 1e6):06d}Z"


def local(instant: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(instant))


def code(cell_id: str, source: str, outputs: list[dict[str, Any]], count: int | None, **metadata: Any) -> dict[str, Any]:
    timing = {"execution": {"iopub.execute_input": iso(STORED_RUN), "shell.execute_reply": iso(STORED_RUN + 1)}}
    return {
        "cell_type": "code",
        "id": cell_id,
        "metadata": {**timing, **metadata},
        "source": source,
        "outputs": outputs,
        "execution_count": count,
    }


def stdout(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def result(text: str) -> dict[str, Any]:
    return {"output_type": "execute_result", "data": {"text/plain": text}, "metadata": {}, "execution_count": 1}


def error(name: str, value: str) -> dict[str, Any]:
    return {"output_type": "error", "ename": name, "evalue": value, "traceback": [f"\x1b[31m{name}\x1b[0m: {value}"]}


def story_notebook() -> dict[str, Any]:
    """A markdown cell first, so cell positions and code-cell numbers differ by one."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Story"},
            code("load", "print('rows: 3')", [stdout("rows: 3\n")], 1),
            code("sum", "1 + 1", [result("3")], 2),
            code(
                "now", "print(datetime.now(), object())", [stdout(f"{local(STORED_RUN)} <object object at 0x7f00deadbeef>\n")], 3
            ),
            code("data", "print(frame.date.max())", [stdout("1999-01-01\n")], 4),
            code("boom", "raise ValueError('boom')", [], 5),
            code("skipme", "# NBVAL_SKIP\nprint('x')", [], 6),
            code("ignored", "print(random())", [stdout("0.1\n")], 7, tags=["nbval-ignore-output"]),
            code("expected", "1 / 0", [error("ZeroDivisionError", "division by zero")], 8, tags=["raises-exception"]),
            code("unrun", "print('unrun')", [], None),
        ],
    }


def runner_result(**changes: Any) -> dict[str, Any]:
    """What the runner writes for the story in a healthy image: the data date changed, 1 + 1 is 2, `boom` raised."""
    outputs = {
        1: [stdout("rows: 3\n")],
        2: [result("2")],
        3: [stdout(f"{local(NOW)} <object object at 0x7fe1aa0b2c40>\n")],
        4: [stdout("2026-01-25\n")],
        5: [error("ValueError", "boom")],
        7: [stdout("0.7\n")],
        8: [error("ZeroDivisionError", "division by zero")],
        9: [stdout("unrun\n")],
    }
    cells = [{"index": index, "outputs": value, "seconds": 0.01} for index, value in outputs.items()]
    base = {
        "started": NOW - 1,
        "ended": NOW + 1,
        "machine": "x86_64",
        "language_info": {"name": "python", "version": "3.11.2"},
        "cells": cells,
        "stopped": None,
    }
    return {**base, **changes}


def verdicts(run: dict[str, Any], notebook: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    content = notebook or story_notebook()
    sanitizers = build_sanitizers(Path("/work"), "/home/jovyan", **options)
    results = cell_results(content, code_cells(content), run, sanitizers, 120)
    return {cell.id: cell for cell in results}


# ---- cell by cell ----------------------------------------------------------------------------


def test_each_cell_gets_a_verdict_by_its_position_in_the_notebook() -> None:
    cells = verdicts(runner_result())
    assert {key: cell.status for key, cell in cells.items()} == {
        "load": "reproduced",
        "sum": "differs",
        "now": "reproduced",
        "data": "differs",
        "boom": "errored",
        "skipme": "skipped",
        "ignored": "ignored",
        "expected": "reproduced",
        "unrun": "ignored",
    }
    assert [cells[key].index for key in ("load", "sum", "unrun")] == [1, 2, 9]
    assert cells["sum"].diff == "\n".join(
        ["--- text/plain stored in the notebook", "+++ text/plain re-executed in the image", "@@ -1 +1 @@", "-3", "+2"]
    )


def test_a_changed_data_date_fails_while_a_printed_now_passes() -> None:
    cells = verdicts(runner_result())
    assert cells["data"].message == "its stdout output differs"
    assert "-1999-01-01" in cells["data"].diff.splitlines() and "+2026-01-25" in cells["data"].diff.splitlines()
    assert cells["now"].status == "reproduced"
    assert cells["now"].sanitized == {"address": 1, "timestamp": 1}


def test_without_recorded_execution_times_a_stored_now_counts_as_data_and_the_reason_is_given() -> None:
    notebook = story_notebook()
    for cell in notebook["cells"]:
        cell["metadata"].pop("execution", None)
    now = verdicts(runner_result(), notebook)["now"]
    assert now.status == "differs"
    assert "records no execution times" in (now.message or "")


def test_without_the_default_sanitizers_an_address_is_a_difference() -> None:
    assert verdicts(runner_result(), defaults=False)["now"].status == "differs"


def test_markers_name_why_a_cell_was_not_compared() -> None:
    cells = verdicts(runner_result())
    assert cells["skipme"].message == "not run: marked # NBVAL_SKIP"
    assert cells["ignored"].message == "not compared: tagged nbval-ignore-output"
    assert cells["unrun"].message == "not compared: never run in the saved notebook"
    assert cells["boom"].message == "raised ValueError: boom (tag the cell raises-exception if that is expected)"


@pytest.mark.parametrize(
    ("stopped", "oom", "message"),
    [
        ({"reason": "kernel-died", "exit_code": 1}, False, "the kernel exited with code 1 while this cell ran"),
        ({"reason": "kernel-died", "exit_code": -11}, False, "the kernel was killed by SIGSEGV while this cell ran"),
        ({"reason": "kernel-died", "exit_code": -9}, True, "the kernel was killed: the container ran out of memory"),
        ({"reason": "timeout"}, False, "ran past the 120 s cell timeout and was stopped after 120.3 s"),
    ],
)
def test_a_run_that_stopped_names_the_cell_and_why_and_runs_nothing_after(
    stopped: dict[str, Any], oom: bool, message: str
) -> None:
    run = runner_result(stopped={**stopped, "index": 2, "seconds": 120.3})
    run["cells"] = run["cells"][:1]
    content = story_notebook()
    results = cell_results(content, code_cells(content), run, build_sanitizers(Path("/work"), "/home/jovyan"), 120, oom)
    cells = {cell.id: cell for cell in results}
    assert cells["sum"].status == "errored" and message in (cells["sum"].message or "")
    assert cells["now"].status == "skipped" and cells["now"].message == "not run: the run stopped at cell 2 (id sum)"
    report = make_report(Path("story.ipynb"), IMAGE, results)
    assert not report.reproduced and "cell 2 (id sum) errored" in report.message


# ---- conditions -------------------------------------------------------------------------------


def conditions(**changes: Any) -> Any:
    manifest = {"capsule_hash": "ab" * 32, "interpreter": {"version": "3.11.2"}, "platform": {"os": "linux", "machine": "x86_64"}}
    options = {
        "image_attrs": {"Id": "sha256:1", "Architecture": "amd64", "Os": "linux"},
        "engine_architecture": "x86_64",
        "python_image": "3.11.2",
        "machine_image": "x86_64",
        "base_image": "python:3.11.2-slim",
        "base_digest": None,
        "system_packages": None,
    }
    manifest.update(changes.pop("manifest", {}))
    return read_conditions(IMAGE, manifest, **{**options, **changes})


def test_the_same_conditions_are_exact() -> None:
    same = conditions()
    assert same.exact and same.warnings == ()
    assert same.render_text() == f"Ran in image {IMAGE}, Python 3.11.2, platform linux/amd64, capsule abababababab."


@pytest.mark.parametrize(
    ("changes", "warning"),
    [
        (
            {"manifest": {"interpreter": {"version": "3.11.7"}}},
            "The image's Python is 3.11.2, the capture's 3.11.7 (another patch version)",
        ),
        ({"machine_image": "aarch64", "image_attrs": {"Architecture": "arm64"}}, "ran emulated on a linux/amd64 engine"),
        (
            {"manifest": {"platform": {"machine": "arm64"}}},
            "The image is linux/amd64, but the notebook was captured on linux/arm64.",
        ),
        (
            {"manifest": {"base_image": {"name": "python:3.11.7-slim"}}},
            "built on the base image python:3.11.2-slim, not on python:3.11.7-slim",
        ),
        (
            {
                "manifest": {"system": {"packages": [{"name": "libgomp1", "version": "12.2.0-14", "architecture": "amd64"}]}},
                "system_packages": [{"name": "libgomp1", "version": "12.2.0-14+deb12u1", "architecture": "amd64"}],
            },
            "1 system package(s) in the image differ from the capture: libgomp1 12.2.0-14+deb12u1 (captured 12.2.0-14).",
        ),
    ],
)
def test_each_difference_from_the_capture_is_a_warning(changes: dict[str, Any], warning: str) -> None:
    found = conditions(**changes)
    assert not found.exact
    assert any(warning in text for text in found.warnings), found.warnings


def test_reproduced_is_about_outputs_and_exact_conditions_about_where() -> None:
    content = {**story_notebook(), "cells": story_notebook()["cells"][:2]}
    results = cell_results(content, code_cells(content), runner_result(), build_sanitizers(Path("/w/x"), "/home/jovyan"), 120)
    report = make_report(Path("story.ipynb"), IMAGE, results, conditions(manifest={"interpreter": {"version": "3.11.7"}}))
    data = report.to_json()
    assert (data["reproduced"], data["exact_conditions"]) == (True, False)
    assert data["warnings"] == list(report.conditions.warnings) and len(data["warnings"]) == 1  # type: ignore[union-attr]
    assert data["conditions"]["python_image"] == "3.11.2" and data["conditions"]["python_captured"] == "3.11.7"
    text = report.render_text()
    assert text.startswith("Reproduced 1 of 1 cells of story.ipynb in envcapsule/story:0123456789ab.\n")
    assert "warning: The image's Python is 3.11.2, the capture's 3.11.7" in text
    assert "Exact conditions: no" in text


# ---- the report's forms -------------------------------------------------------------------------


def story_report() -> Any:
    content = story_notebook()
    results = cell_results(content, code_cells(content), runner_result(), build_sanitizers(Path("/w/x"), "/home/jovyan"), 120)
    return make_report(Path("story.ipynb"), IMAGE, results, conditions(), ran_at=NOW)


def test_the_text_counts_what_was_not_compared_and_what_was_sanitized() -> None:
    text = story_report().render_text()
    first = text.splitlines()[0]
    assert first == (
        "3 of 6 cells of story.ipynb did not reproduce in envcapsule/story:0123456789ab: "
        "2 differing, 1 errored, 3 reproduced (1 skipped, 2 run but not compared)."
    )
    assert "cell 3 (id now): 2 values sanitized: 1 address, 1 timestamp" in text.splitlines()
    assert "cell 6 (id skipme) skipped: not run: marked # NBVAL_SKIP" in text.splitlines()
    assert text == story_report().render_text()


def test_json_and_junit_carry_every_cell_and_the_conditions() -> None:
    report = story_report()
    data = report.to_json()
    assert (data["skipped"], data["ignored"], data["total"]) == (1, 2, 6)
    assert data["cells"][2]["sanitized"] == {"address": 1, "timestamp": 1}
    assert data["ran_at"].endswith("Z")
    suite = ElementTree.fromstring(report.to_junit())
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("9", "2", "1", "3")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["exact_conditions"] == "true" and properties["python_image"] == "3.11.2"
    [failure] = [case for case in suite.iter("testcase") if case.get("name") == "cell 4 (id data)"]
    assert failure.find("failure") is not None


def test_nothing_compared_is_not_a_pass() -> None:
    content = {**story_notebook(), "cells": [story_notebook()["cells"][6]]}
    results = cell_results(content, code_cells(content), runner_result(), build_sanitizers(Path("/w/x"), "/home/jovyan"), 120)
    report = make_report(Path("story.ipynb"), IMAGE, results)
    assert not report.reproduced and report.message.startswith("No cell of story.ipynb was compared")


# ---- verify() with a fake engine ---------------------------------------------------------------


class Unusable:
    """A Docker client that must not be touched."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the engine was used: {name}")


def events(*lines: dict[str, Any]) -> str:
    return "".join(f"envcapsule-verify {json.dumps(line)}\n" for line in lines)


@dataclass
class FakeContainer:
    log: str
    result: dict[str, Any] | None
    polls_until_exit: int | None = 0
    exit_code: int = 0
    oom_killed: bool = False
    put: list[tuple[str, bytes]] = field(default_factory=list)
    started: bool = False
    removed: bool = False
    polls: int = 0
    attrs: dict[str, Any] = field(default_factory=dict)

    def put_archive(self, path: str, data: bytes) -> bool:
        self.put.append((path, data))
        return True

    def start(self) -> None:
        self.started = True

    def reload(self) -> None:
        self.polls += 1
        done = self.polls_until_exit is not None and self.polls > self.polls_until_exit
        state = {"Status": "exited" if done else "running", "ExitCode": self.exit_code, "OOMKilled": self.oom_killed}
        self.attrs = {"State": state}

    def logs(self, **kwargs: Any) -> bytes:
        return self.log.encode()

    def get_archive(self, path: str) -> tuple[Any, dict[str, Any]]:
        from docker.errors import NotFound

        assert path == RESULT
        if self.result is None:
            raise NotFound("no such file")
        data = json.dumps(self.result).encode()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            entry = tarfile.TarInfo("result.json")
            entry.size = len(data)
            archive.addfile(entry, io.BytesIO(data))
        return iter([buffer.getvalue()]), {}

    def remove(self, **kwargs: Any) -> None:
        self.removed = True


class FakeClient:
    def __init__(self, container: FakeContainer) -> None:
        self.container = container
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.containers = self
        self.images = self

    def create(self, image: str, **options: Any) -> FakeContainer:
        self.created.append((image, options))
        return self.container

    def get(self, image: str) -> Any:
        return type("Image", (), {"attrs": {"Id": "sha256:1", "Architecture": "amd64", "Os": "linux"}})()

    def info(self) -> dict[str, Any]:
        return {"Architecture": "x86_64"}


class RecordingProgress(NullProgress):
    def __init__(self) -> None:
        self.items: list[str] = []

    def advance(self, item: str = "") -> None:
        self.items.append(item)


@dataclass
class Built:
    image: str
    base_image: str = "python:3.11.2-slim"
    base_image_digest: str | None = None


def write(path: Path, notebook: dict[str, Any]) -> Path:
    path.write_text(json.dumps(notebook, indent=1))
    return path


@pytest.fixture
def story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The story notebook beside a capsule folder, with building replaced by a known image."""
    notebook = write(tmp_path / "story.ipynb", story_notebook())
    (tmp_path / "story.capsule").mkdir()
    manifest = 'capsule_hash = "abc"\n[interpreter]\nversion = "3.11.2"\n[platform]\nos = "linux"\nmachine = "x86_64"\n'
    (tmp_path / "story.capsule" / "capsule.toml").write_text(manifest)
    monkeypatch.setattr("envcapsule.image.build.build", lambda folder, **options: Built(IMAGE))
    monkeypatch.setattr(verify_module, "POLL_INTERVAL", 0.001)
    return notebook


def test_verify_puts_the_runner_in_reads_its_result_and_removes_the_container(story: Path) -> None:
    log = events({"event": "start", "index": 1}, {"event": "done", "index": 1, "seconds": 0.1}, {"event": "start", "index": 2})
    log += events({"event": "done", "index": 2, "seconds": 0.1})
    container = FakeContainer(log=log, result=runner_result(), polls_until_exit=2)
    client = FakeClient(container)
    progress = RecordingProgress()
    report = verify(story, client=client, progress=progress)  # type: ignore[arg-type]

    assert (report.image, report.differing, report.errored, report.exact_conditions) == (IMAGE, 2, 1, True)
    assert client.created[0][0] == IMAGE and client.created[0][1]["command"][1:] == [RUNNER, PLAN, RESULT]
    assert container.started and container.removed
    [(path, data)] = container.put
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        sent = json.loads(archive.extractfile("home/jovyan/story.ipynb").read())  # type: ignore[union-attr]
        plan = json.loads(archive.extractfile(PLAN.lstrip("/")).read())  # type: ignore[union-attr]
        runner = archive.extractfile(RUNNER.lstrip("/")).read()  # type: ignore[union-attr]
    assert path == "/" and sent == story_notebook()
    assert b"store_history=True" in runner
    assert {"index": 6, "run": False} in plan["cells"] and {"index": 1, "run": True} in plan["cells"]
    assert progress.items == ["cell 1 (id load): ran", "cell 2 (id sum): ran"]


def test_no_default_sanitizers_reach_the_comparison(story: Path) -> None:
    report = verify(story, default_sanitizers=False, client=FakeClient(FakeContainer(log="", result=runner_result())))  # type: ignore[arg-type]
    assert next(cell for cell in report.cells if cell.id == "now").status == "differs"


def test_a_check_past_its_time_limit_names_the_running_cell_and_leaves_nothing_behind(
    story: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "STARTUP_ALLOWANCE", 0.0)
    log = events(
        {"event": "kernel-ready"}, {"event": "start", "index": 1}, {"event": "done", "index": 1}, {"event": "start", "index": 2}
    )
    container = FakeContainer(log=log, result=None, polls_until_exit=None)
    assert verify_module.run_limit(0.05, 9) == pytest.approx(0.45)
    with pytest.raises(VerifyTimeout, match=r"did not finish within 0\.45 s \(cell 2 \(id sum\) was still running\)"):
        verify(story, timeout=0.05, client=FakeClient(container))  # type: ignore[arg-type]
    assert container.removed


def test_the_running_cell_is_the_one_started_and_not_finished() -> None:
    assert running_cell(events({"event": "start", "index": 3})) == 3
    assert running_cell(events({"event": "start", "index": 3}, {"event": "done", "index": 3})) is None
    assert running_cell("[IPKernelApp] WARNING | something\n") is None


def test_ctrl_c_while_waiting_removes_the_container(story: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    container = FakeContainer(log="", result=None, polls_until_exit=None)

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(verify_module.time, "sleep", interrupt)
    with pytest.raises(KeyboardInterrupt):
        verify(story, client=FakeClient(container))  # type: ignore[arg-type]
    assert container.removed


@pytest.mark.parametrize(
    ("container", "sentence"),
    [
        (
            FakeContainer(log="ModuleNotFoundError: No module named 'nbclient'\n", result=None, exit_code=1),
            r"has no nbclient in its server environment .* `envcapsule build --no-cache`",
        ),
        (
            FakeContainer(log="Fatal Python error: something\n", result=None, exit_code=3),
            r"The notebook runner wrote no result in .* \(it exited with code 3\); its last log lines:\n  Fatal",
        ),
        (
            FakeContainer(log=events({"event": "start", "index": 3}), result=None, exit_code=137, oom_killed=True),
            r"ran out of memory while cell 3 \(id now\) was running and was killed",
        ),
        (
            FakeContainer(
                log="",
                result=runner_result(
                    stopped={"reason": "runner-error", "message": "RuntimeError: Kernel died before replying to kernel_info"}
                ),
            ),
            r"The notebook's kernel could not run in .* \(RuntimeError: Kernel died before replying to kernel_info\)",
        ),
    ],
)
def test_a_run_without_a_usable_result_is_one_sentence(story: Path, container: FakeContainer, sentence: str) -> None:
    with pytest.raises(VerifyError, match=sentence):
        verify(story, client=FakeClient(container))  # type: ignore[arg-type]
    assert container.removed


def test_a_notebook_without_outputs_is_explained_never_passed_and_needs_no_capsule_or_engine(tmp_path: Path) -> None:
    notebook = write(tmp_path / "fresh.ipynb", {**story_notebook(), "cells": [code("a", "print(1)", [], None)]})
    report = verify(notebook, client=Unusable())  # type: ignore[arg-type]
    assert (report.status, report.reproduced, report.cells, report.image) == ("no-outputs", False, (), None)
    assert report.message == "fresh.ipynb has no stored outputs to compare; run it, save it, and verify again."


def test_a_missing_notebook_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(NotebookError, match="does not exist"):
        verify(tmp_path / "nope.ipynb", client=Unusable())  # type: ignore[arg-type]


def test_a_notebook_without_a_capsule_says_to_snapshot_first(tmp_path: Path) -> None:
    notebook = write(tmp_path / "story.ipynb", story_notebook())
    with pytest.raises(CapsuleError, match=r"has no capsule at .*story\.capsule; run `envcapsule snapshot .*story\.ipynb` first"):
        verify(notebook, client=Unusable())  # type: ignore[arg-type]


def test_an_unreadable_sanitizer_file_is_refused_before_anything_is_built(story: Path) -> None:
    with pytest.raises(SanitizerError, match=r"The sanitizer file .*missing\.cfg cannot be read \(No such file or directory\)"):
        verify(story, sanitize=story.parent / "missing.cfg", client=Unusable())  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [0, -1, float("nan")])
def test_a_timeout_that_is_not_positive_is_refused(story: Path, timeout: float) -> None:
    with pytest.raises(VerifyError, match="must be a positive number of seconds"):
        verify(story, timeout=timeout, client=Unusable())  # type: ignore[arg-type]


# ---- the container -----------------------------------------------------------------------------


def test_the_plan_runs_every_cell_but_the_skipped_ones_in_the_home_folder() -> None:
    plan = run_plan("story.ipynb", code_cells(story_notebook()), 30, False)
    assert (plan["notebook"], plan["kernel"], plan["timeout"], plan["cwd"]) == (
        "/home/jovyan/story.ipynb",
        "python3",
        30,
        "/home/jovyan",
    )
    assert [cell["index"] for cell in plan["cells"] if not cell["run"]] == [6]


def test_the_container_is_offline_unprivileged_labelled_and_mounts_nothing() -> None:
    options = container_options(["true"], "envcapsule-verify-x")
    assert options["user"] == "1000:1000"
    assert options["network_disabled"] is True
    assert options["cap_drop"] == ["ALL"]
    assert options["security_opt"] == ["no-new-privileges"]
    assert options["labels"]["envcapsule.managed"] == "true"
    assert not {"volumes", "mounts", "ports", "privileged"} & set(options)


def test_files_go_in_as_a_tar_owned_by_the_notebook_user() -> None:
    data = tar_of({"/home/jovyan/.envcapsule-verify/": b"", "/home/jovyan/story.ipynb": b"{}"})
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        folder, notebook = archive.getmembers()
        assert (folder.name, folder.isdir(), folder.uid, folder.gid) == ("home/jovyan/.envcapsule-verify", True, 1000, 1000)
        assert (notebook.name, notebook.uid, notebook.mode) == ("home/jovyan/story.ipynb", 1000, 0o644)
