"""verify without Docker: nbval's JUnit report read into cell results, sanitizers, the container's command and life.

STORY_REPORT is a real report, written by nbval 0.11 (pytest 9, --color=no -vv) for the notebook
that ``story_notebook`` builds, with the same options that ``nbval_command`` passes in the image.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from envcapsule.errors import CapsuleError, NotebookError
from envcapsule.progress import NullProgress
from envcapsule.run import verify as verify_module
from envcapsule.run.sanitize import (
    Sanitizer,
    SanitizerError,
    compose_sanitizers,
    default_sanitizers,
    folder_sanitizers,
    parse_sanitizers,
    read_sanitizers,
)
from envcapsule.run.verify import (
    JUNIT_REPORT,
    CellResult,
    VerifyError,
    VerifyTimeout,
    cell_results,
    code_cells,
    container_options,
    make_report,
    nbval_command,
    parse_junit,
    readable_diff,
    running_cell,
    tar_of,
    verify,
)

IMAGE = "envcapsule/story:0123456789ab"

STORY_REPORT = r"""<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="4" skipped="2" tests="9" time="3.765" timestamp="2026-11-21T06:10:25.413356+00:00" hostname="3f2a9c1d0b7e"><testcase classname="story.ipynb" name="Cell 0" time="0.532" /><testcase classname="story.ipynb" name="Cell 1" time="0.007"><failure message="Notebook cell execution failed&#10;Cell 1: Cell outputs differ&#10;&#10;Input:&#10;1 + 1&#10;&#10;Traceback:&#10; mismatch 'text/plain'&#10;&#10; assert reference_output == test_output failed:&#10;&#10;  '3' == '2'&#10;  &#10;  - 2&#10;  + 3&#10;&#10;">Notebook cell execution failed
Cell 1: Cell outputs differ

Input:
1 + 1

Traceback:
 mismatch 'text/plain'

 assert reference_output == test_output failed:

  '3' == '2'
  
  - 2
  + 3

</failure></testcase><testcase classname="story.ipynb" name="Cell 2" time="0.005"><failure message="Notebook cell execution failed&#10;Cell 2: Cell outputs differ&#10;&#10;Input:&#10;print('a\nb\nc')&#10;&#10;Traceback:&#10; mismatch 'stdout'&#10;&#10; assert reference_output == test_output failed:&#10;&#10;  'a\nB\nc\n' == 'a\nb\nc\n'&#10;  &#10;    a&#10;  - b&#10;  + B&#10;    c&#10;&#10;">Notebook cell execution failed
Cell 2: Cell outputs differ

Input:
print('a\nb\nc')

Traceback:
 mismatch 'stdout'

 assert reference_output == test_output failed:

  'a\nB\nc\n' == 'a\nb\nc\n'
  
    a
  - b
  + B
    c

</failure></testcase><testcase classname="story.ipynb" name="Cell 3" time="0.035"><failure message="Notebook cell execution failed&#10;Cell 3: Cell execution caused an exception&#10;&#10;Input:&#10;raise ValueError('boom')&#10;&#10;Traceback:&#10;&#10;#x1B[31m---------------------------------------------------------------------------#x1B[39m&#10;#x1B[31mValueError#x1B[39m                                Traceback (most recent call last)&#10;#x1B[36mCell#x1B[39m#x1B[36m #x1B[39m#x1B[32mIn[1]#x1B[39m#x1B[32m, line 1#x1B[39m&#10;#x1B[32m----&gt; #x1B[39m#x1B[32m1#x1B[39m #x1B[38;5;28;01mraise#x1B[39;00m ValueError(#x1B[33m'boom'#x1B[39m)&#10;&#10;#x1B[31mValueError#x1B[39m: boom&#10;">Notebook cell execution failed
Cell 3: Cell execution caused an exception

Input:
raise ValueError('boom')

Traceback:

#x1B[31m---------------------------------------------------------------------------#x1B[39m
#x1B[31mValueError#x1B[39m                                Traceback (most recent call last)
#x1B[36mCell#x1B[39m#x1B[36m #x1B[39m#x1B[32mIn[1]#x1B[39m#x1B[32m, line 1#x1B[39m
#x1B[32m----&gt; #x1B[39m#x1B[32m1#x1B[39m #x1B[38;5;28;01mraise#x1B[39;00m ValueError(#x1B[33m'boom'#x1B[39m)

#x1B[31mValueError#x1B[39m: boom
</failure></testcase><testcase classname="story.ipynb" name="Cell 4" time="0.000"><skipped type="pytest.skip" message="Skipped">/opt/envcapsule/server/lib/python3.11/site-packages/nbval/plugin.py:592: Skipped</skipped></testcase><testcase classname="story.ipynb" name="Cell 5" time="0.004" /><testcase classname="story.ipynb" name="Cell 6" time="0.004" /><testcase classname="story.ipynb" name="Cell 7" time="3.011"><failure message="Notebook cell execution failed&#10;Cell 7: Timeout of 3 seconds exceeded executing cell&#10;&#10;Input:&#10;import time; time.sleep(30)&#10;&#10;Traceback:&#10;&#10;#x1B[31m---------------------------------------------------------------------------#x1B[39m&#10;#x1B[31mKeyboardInterrupt#x1B[39m                         Traceback (most recent call last)&#10;#x1B[36mCell#x1B[39m#x1B[36m #x1B[39m#x1B[32mIn[1]#x1B[39m#x1B[32m, line 1#x1B[39m&#10;#x1B[32m----&gt; #x1B[39m#x1B[32m1#x1B[39m #x1B[38;5;28;01mimport#x1B[39;00m time; time.sleep(#x1B[32m30#x1B[39m)&#10;&#10;#x1B[31mKeyboardInterrupt#x1B[39m: &#10;">Notebook cell execution failed
Cell 7: Timeout of 3 seconds exceeded executing cell

Input:
import time; time.sleep(30)

Traceback:

#x1B[31m---------------------------------------------------------------------------#x1B[39m
#x1B[31mKeyboardInterrupt#x1B[39m                         Traceback (most recent call last)
#x1B[36mCell#x1B[39m#x1B[36m #x1B[39m#x1B[32mIn[1]#x1B[39m#x1B[32m, line 1#x1B[39m
#x1B[32m----&gt; #x1B[39m#x1B[32m1#x1B[39m #x1B[38;5;28;01mimport#x1B[39;00m time; time.sleep(#x1B[32m30#x1B[39m)

#x1B[31mKeyboardInterrupt#x1B[39m: 
</failure></testcase><testcase classname="story.ipynb" name="Cell 8" time="0.117"><skipped type="pytest.xfail" message="Previous cell timed out, expected cell to fail" /></testcase></testsuite></testsuites>"""

NO_KERNEL_CASE = (
    '<testcase classname="story.ipynb" name="Cell {n}" time="0.000"><error message="failed on setup with '
    '&quot;jupyter_client.kernelspec.NoSuchKernel: No such kernel named python3&quot;">'
    "E   jupyter_client.kernelspec.NoSuchKernel: No such kernel named python3</error></testcase>"
)

COLLECTION_ERROR_REPORT = r"""<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="0" skipped="0" tests="1" time="0.110" timestamp="2026-11-21T06:10:34.603629+00:00" hostname="vm"><testcase classname="" name="broken.ipynb" time="0.000"><error message="collection failure">E   json.decoder.JSONDecodeError: Expecting value: line 2 column 1 (char 12)

The above exception was the direct cause of the following exception:
E   nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{"cells": [\n'</error></testcase></testsuite></testsuites>"""

# The lines pytest -vv wrote to the container's log for STORY_REPORT (the last one wraps at 80 columns).
STORY_LOG = """\
collecting ... collected 9 items

story::ipynb::Cell 0 PASSED                                              [ 11%]
story::ipynb::Cell 1 FAILED                                              [ 22%]
story::ipynb::Cell 2 FAILED                                              [ 33%]
story::ipynb::Cell 3 FAILED                                              [ 44%]
story::ipynb::Cell 4 SKIPPED                                             [ 55%]
story::ipynb::Cell 5 PASSED                                              [ 66%]
story::ipynb::Cell 6 PASSED                                              [ 77%]
story::ipynb::Cell 7 FAILED                                              [ 88%]
story::ipynb::Cell 8 XFAIL (Previous cell timed out, expected cell to
fail)                                                                    [100%]
"""


def code(cell_id: str, source: str, outputs: list[dict[str, Any]], count: int | None) -> dict[str, Any]:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source, "outputs": outputs, "execution_count": count}


def stdout(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def story_notebook() -> dict[str, Any]:
    """The notebook behind STORY_REPORT: a markdown cell first, so cell positions and nbval's numbers differ by one."""
    result = {"output_type": "execute_result", "data": {"text/plain": "3"}, "metadata": {}, "execution_count": 2}
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Story"},
            code("load", "print('rows: 3')\nprint('cols: 2')", [stdout("rows: 3\ncols: 2\n")], 1),
            code("sum", "1 + 1", [result], 2),
            code("table", "print('a\\nb\\nc')", [stdout("a\nB\nc\n")], 3),
            code("boom", "raise ValueError('boom')", [], 4),
            code("skipme", "# NBVAL_SKIP\nprint('x')", [], 5),
            code("unrun", "print('unrun')", [], None),
            code("addr", "print(object())", [stdout("<object object at 0x7f00deadbeef>\n")], 7),
            code("slow", "import time; time.sleep(30)", [], 8),
            code("after", "print(1)", [stdout("2\n")], 9),
        ],
    }


def story_results() -> dict[str, CellResult]:
    results = cell_results(parse_junit(STORY_REPORT.encode(), "story.ipynb"), code_cells(story_notebook()))
    return {result.id or "": result for result in results}


# ---- nbval's report ------------------------------------------------------------------------------


def test_nbval_numbers_code_cells_from_zero_and_cells_are_reported_by_notebook_position() -> None:
    cells = code_cells(story_notebook())
    assert [(cell.number, cell.index, cell.id) for cell in cells[:3]] == [(0, 1, "load"), (1, 2, "sum"), (2, 3, "table")]
    results = story_results()
    assert (results["load"].index, results["load"].status) == (1, "reproduced")
    assert results["after"].index == 9


def test_a_different_result_is_a_difference_with_a_diff_from_stored_to_re_executed() -> None:
    differs = story_results()["sum"]
    assert (differs.status, differs.message) == ("differs", "its text/plain output differs")
    assert differs.diff == ("--- text/plain stored in the notebook\n+++ text/plain re-executed in the image\n@@ -1 +1 @@\n-3\n+2")


def test_a_multi_line_stream_diff_keeps_the_lines_around_the_change() -> None:
    table = story_results()["table"]
    assert table.status == "differs"
    assert table.diff is not None
    assert table.diff.splitlines()[-4:] == [" a", "-B", "+b", " c"]
    assert "assert reference_output" not in table.diff


def test_an_exception_in_a_cell_is_an_error_named_by_its_last_traceback_line_without_colour_codes() -> None:
    boom = story_results()["boom"]
    assert (boom.status, boom.message, boom.diff) == ("errored", "raised ValueError: boom", None)


def test_a_cell_timeout_is_an_error_and_the_cells_after_it_are_not_checked() -> None:
    results = story_results()
    assert (results["slow"].status, results["slow"].message) == ("errored", "Timeout of 3 seconds exceeded executing cell")
    assert (results["after"].status, results["after"].message) == ("skipped", "not checked: an earlier cell timed out")


def test_skipped_and_never_run_cells_are_not_counted_as_reproduced() -> None:
    results = story_results()
    assert (results["skipme"].status, results["skipme"].message) == ("skipped", "skipped by an NBVAL_SKIP marker")
    assert (results["unrun"].status, results["unrun"].message) == ("skipped", "not compared: never run in the saved notebook")


def test_the_default_sanitizers_let_a_memory_address_match() -> None:
    assert story_results()["addr"].status == "reproduced"


def test_a_kernel_that_does_not_start_errors_every_cell_with_the_reason() -> None:
    cases = "".join(NO_KERNEL_CASE.format(n=n) for n in range(2))
    report = f'<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>'
    notebook = {"cells": [code("a", "1", [stdout("1\n")], 1), code("b", "2", [stdout("2\n")], 2)]}
    results = cell_results(parse_junit(report.encode(), "nb.ipynb"), code_cells(notebook))
    assert {result.status for result in results} == {"errored"}
    assert results[0].message == "the kernel did not start: jupyter_client.kernelspec.NoSuchKernel: No such kernel named python3"


def test_a_cell_missing_from_the_report_is_an_error() -> None:
    notebook = {"cells": [code("a", "1", [stdout("1\n")], 1)]}
    [result] = cell_results({}, code_cells(notebook))
    assert result.status == "errored"
    assert "did not report" in (result.message or "")


def test_a_notebook_nbval_cannot_read_fails_the_check_with_nbvals_reason() -> None:
    with pytest.raises(VerifyError, match=r"nbval could not read broken\.ipynb in the image \(nbformat\.reader\.NotJSONError"):
        parse_junit(COLLECTION_ERROR_REPORT.encode(), "broken.ipynb")


def test_a_report_that_is_not_xml_fails_the_check() -> None:
    with pytest.raises(VerifyError, match="not valid XML"):
        parse_junit(b"<testsuites><testcase", "nb.ipynb")


def test_nbvals_own_text_is_kept_when_its_values_cannot_be_read_back() -> None:
    text = (
        "Notebook cell execution failed\nCell 0: Cell outputs differ\n\nInput:\nshow()\n\nTraceback:\n"
        "Missing output fields from running code: {'stdout'}\n"
    )
    assert readable_diff(text) == "Missing output fields from running code: {'stdout'}"


def test_a_difference_only_in_the_final_newline_is_shown_with_both_values() -> None:
    text = "Cell 0: Cell outputs differ\n\nTraceback:\n mismatch 'stdout'\n\n  'a\\n' == 'a'\n"
    assert readable_diff(text) == "stdout stored in the notebook:   'a\\n'\nstdout re-executed in the image: 'a'"


def test_cells_marked_to_ignore_output_are_run_but_not_compared() -> None:
    notebook = {"cells": [code("t", "# NBVAL_IGNORE_OUTPUT\nimport time; time.time()", [stdout("1\n")], 1)]}
    [cell] = code_cells(notebook)
    assert cell.unchecked == "marked NBVAL_IGNORE_OUTPUT"


# ---- the report --------------------------------------------------------------------------------


def test_the_story_does_not_reproduce_and_the_summary_names_the_cells() -> None:
    report = make_report(Path("/tmp/somewhere/story.ipynb"), IMAGE, list(story_results().values()))
    assert not report.reproduced
    assert (report.total, report.reproduced_cells, report.differing, report.errored, report.skipped) == (6, 2, 2, 2, 3)
    assert report.message.startswith("4 of 6 checked cells of story.ipynb did not reproduce in envcapsule/story:0123456789ab: ")
    assert "cell 2 (id sum) differs" in report.message
    assert "\n" not in report.message


def test_to_json_carries_the_verdict_and_every_cell() -> None:
    data = make_report(Path("story.ipynb"), IMAGE, list(story_results().values())).to_json()
    json.dumps(data)
    assert data["reproduced"] is False
    assert data["cells"][1] == {
        "index": 2,
        "id": "sum",
        "status": "differs",
        "diff": "--- text/plain stored in the notebook\n+++ text/plain re-executed in the image\n@@ -1 +1 @@\n-3\n+2",
        "message": "its text/plain output differs",
    }


def test_render_text_names_the_failing_cells_with_their_diffs_and_reads_the_same_every_time(tmp_path: Path) -> None:
    report = make_report(tmp_path / "story.ipynb", IMAGE, list(story_results().values()))
    text = report.render_text()
    assert text == make_report(tmp_path / "story.ipynb", IMAGE, list(story_results().values())).render_text()
    assert str(tmp_path) not in text
    assert text.splitlines()[0] == (
        "4 of 6 cells of story.ipynb did not reproduce in envcapsule/story:0123456789ab: 2 differing, 2 errored, 2 reproduced."
    )
    assert "cell 2 (id sum) differs: its text/plain output differs\n    --- text/plain stored in the notebook\n" in text
    assert "cell 4 (id boom) errored: raised ValueError: boom\n" in text
    assert not re.search(r"\d+\.\d+ ?s\b|\d{4}-\d{2}-\d{2}", text)


def test_all_cells_reproduced_is_a_pass() -> None:
    cells = [CellResult(1, "a", "reproduced"), CellResult(2, "b", "reproduced")]
    report = make_report(Path("nb.ipynb"), IMAGE, cells)
    assert report.reproduced
    assert report.render_text() == "Reproduced 2 of 2 cells of nb.ipynb in envcapsule/story:0123456789ab.\n"
    assert report.message == "All 2 checked cells of nb.ipynb reproduced their stored outputs in envcapsule/story:0123456789ab."


def test_nothing_checked_is_not_a_pass() -> None:
    report = make_report(Path("nb.ipynb"), IMAGE, [CellResult(0, "a", "skipped", message="skipped by an NBVAL_SKIP marker")])
    assert not report.reproduced
    assert report.total == 0
    assert report.message.startswith("No cell of nb.ipynb was compared")


def test_a_notebook_without_outputs_is_explained_never_passed_and_needs_no_capsule_or_engine(tmp_path: Path) -> None:
    notebook = write(tmp_path / "fresh.ipynb", {**story_notebook(), "cells": [code("a", "print(1)", [], None)]})
    report = verify(notebook, client=Unusable())
    assert (report.status, report.reproduced, report.cells, report.image) == ("no-outputs", False, (), None)
    assert report.message == "fresh.ipynb has no stored outputs to compare; run it, save it, and verify again."
    assert report.render_text() == report.message + "\n"
    assert report.to_json()["reproduced"] is False


def test_a_missing_notebook_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(NotebookError, match="does not exist"):
        verify(tmp_path / "nope.ipynb", client=Unusable())


def test_a_notebook_without_a_capsule_says_to_snapshot_first(tmp_path: Path) -> None:
    notebook = write(tmp_path / "story.ipynb", story_notebook())
    with pytest.raises(CapsuleError, match=r"has no capsule at .*story\.capsule; run `envcapsule snapshot .*story\.ipynb` first"):
        verify(notebook, client=Unusable())


# ---- sanitizers --------------------------------------------------------------------------------


def nbval_sanitize(config: str, text: str) -> str:
    """What nbval 0.11 does with the file (plugin.get_sanitize_patterns, IPyNbCell.sanitize)."""
    patterns = dict(re.findall("^regex: (.*)$\n^replace: (.*)$", config, flags=re.MULTILINE))
    for regex, replace in patterns.items():
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(
    ("host", "container", "same"),
    [
        ("<object object at 0x7f3a2b10c9d0>", "<object object at 0x7fe1aa0b2c40>", "<object object at 0xADDRESS>"),
        ("run at 2024-05-01T10:11:12.123456+00:00", "run at 2026-11-21T06:07:08.9+00:00", "run at DATETIME"),
        ("Timestamp('2024-05-01 10:11:12')", "Timestamp('2026-11-21 06:07:08')", "Timestamp('DATETIME')"),
        ("datetime.datetime(2024, 5, 1, 10, 11, 12, 5)", "datetime.datetime(2026, 11, 21, 6, 7, 8, 9)", "DATETIME"),
        ("today 2024-05-01, 10:11:12", "today 2026-11-21, 06:07:08", "today DATE, TIME"),
        ("t=1714558272.25", "t=1763705228.5", "t=TIMESTAMP"),
        ("saved /tmp/tmpab12cd/out.csv", "saved /tmp/tmpzz99xx/out.csv", "saved TMPPATH"),
        ("saved /var/folders/xy/T/tmp1/out.csv", "saved /tmp/tmp2/out.csv", "saved TMPPATH"),
        (
            "/tmp/pytest-0/kernel0/env/lib/python3.11/site-packages/pandas/core/frame.py:12: FutureWarning",
            "/opt/envcapsule/kernel/lib/python3.11/site-packages/pandas/core/frame.py:12: FutureWarning",
            "SITE-PACKAGES/pandas/core/frame.py:12: FutureWarning",
        ),
        ("/work/project/data.csv", "/home/jovyan/data.csv", "NOTEBOOK-FOLDER/data.csv"),
    ],
)
def test_the_composed_file_makes_host_and_image_outputs_equal_in_nbval(host: str, container: str, same: str) -> None:
    config = compose_sanitizers(Path("/work/project"), "/home/jovyan")
    assert nbval_sanitize(config, host) == same
    assert nbval_sanitize(config, container) == same


def test_the_defaults_leave_ordinary_values_alone() -> None:
    config = compose_sanitizers(Path("/work/project"), "/home/jovyan")
    for value in ["0xff", "3.14159", "1.2345678901", "version 0.9.0", "[0.5488135  0.71518937]", "12:30"]:
        assert nbval_sanitize(config, value) == value


def test_the_users_sanitizers_come_last_written_the_way_nbval_reads_them(tmp_path: Path) -> None:
    user = tmp_path / "mine.cfg"
    user.write_text("# run ids\n[run ids]\n  regex:run-[0-9]+\n  replace:RUN\r\nregex: elapsed \\d+ ms\nreplace: \n")
    config = compose_sanitizers(Path("/work/project"), "/home/jovyan", user)
    assert config.endswith("[run ids]\nregex: run-[0-9]+\nreplace: RUN\nregex: elapsed \\d+ ms\nreplace: \n")
    assert nbval_sanitize(config, "run-42 took elapsed 17 ms") == "RUN took "


def test_the_default_file_parses_into_the_promised_families() -> None:
    sections = {sanitizer.section for sanitizer in default_sanitizers()}
    assert {"memory addresses", "dates and times", "unix timestamps", "temporary paths"} <= sections


def test_shallow_or_repeated_notebook_folders_are_not_sanitized() -> None:
    assert folder_sanitizers(Path("/"), "/home/jovyan") == [Sanitizer("notebook folder", "/home/jovyan", "NOTEBOOK-FOLDER")]
    assert len(folder_sanitizers(Path("/home/jovyan"), "/home/jovyan")) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("regex: a+\n", r"Line 1 of .*mine\.cfg has a `regex:` with no `replace:` line after it"),
        ("regex: a+\n\nreplace: b\n", r"Line 1 of .*mine\.cfg has a `regex:` that is not followed by a `replace:` line"),
        ("replace: b\n", r"Line 1 of .*mine\.cfg has a `replace:` with no `regex:` line above it"),
        ("[ok]\nregexp: a\n", r"Line 2 of .*mine\.cfg is not in nbval's format"),
        ("regex: (unclosed\nreplace: x\n", r"Line 1 of .*mine\.cfg: the regex '\(unclosed' is not valid"),
        ("regex: a*\nreplace: x\n", r"matches empty text"),
        ("regex: (a)b\nreplace: \\2\n", r"Line 2 of .*mine\.cfg: the replacement '\\\\2' does not fit its regex"),
        ("# only a comment\n", r"holds no sanitizers"),
    ],
)
def test_a_malformed_sanitizer_file_is_refused_with_one_sentence(tmp_path: Path, text: str, problem: str) -> None:
    user = tmp_path / "mine.cfg"
    user.write_text(text)
    with pytest.raises(SanitizerError, match=problem) as caught:
        read_sanitizers(user)
    assert "\n" not in str(caught.value)


def test_named_groups_may_be_used_in_the_replacement() -> None:
    [sanitizer] = parse_sanitizers("regex: (?P<unit>ms|s) elapsed\nreplace: \\g<unit> ELAPSED\n", "mine.cfg")
    assert sanitizer.replace == "\\g<unit> ELAPSED"


def test_an_unreadable_sanitizer_file_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    notebook = write(tmp_path / "story.ipynb", story_notebook())
    with pytest.raises(SanitizerError, match=r"The sanitizer file .*missing\.cfg cannot be read \(No such file or directory\)"):
        verify(notebook, sanitize=tmp_path / "missing.cfg", client=Unusable())


# ---- the container -----------------------------------------------------------------------------


def test_nbval_runs_from_the_server_environment_with_envcapsules_options() -> None:
    assert nbval_command("story.ipynb", 120) == [
        "/opt/envcapsule/server/bin/python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--noconftest",
        "-c",
        "/home/jovyan/.envcapsule-verify/pytest.ini",
        "--rootdir=/home/jovyan",
        "-vv",
        "--tb=no",
        "-rN",
        "--color=no",
        "--nbval",
        "--nbval-kernel-name=python3",
        "--nbval-cell-timeout=120",
        "--nbval-sanitize-with=/home/jovyan/.envcapsule-verify/sanitize.cfg",
        "--junitxml=/home/jovyan/.envcapsule-verify/report.xml",
        "/home/jovyan/story.ipynb",
    ]


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
        assert archive.extractfile(notebook).read() == b"{}"  # type: ignore[union-attr]


def test_the_running_cell_is_the_one_after_the_last_finished() -> None:
    # The engine's log holds back pytest's "…::Cell 1 " until its outcome ends the line.
    assert running_cell("collecting ... collected 9 items\n\nstory::ipynb::Cell 0 PASSED     [ 11%]\n") == 1
    assert running_cell("collecting ... collected 9 items\n") == 0
    assert running_cell(STORY_LOG) is None
    assert running_cell("============================= test session starts ====\n") is None


# ---- verify() with a fake engine ---------------------------------------------------------------


class Unusable:
    """A Docker client that must not be touched."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the engine was used: {name}")


@dataclass
class FakeContainer:
    log: str
    report: bytes | None
    polls_until_exit: int | None = 0
    exit_code: int = 1
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
        self.attrs = {"State": {"Status": "exited" if done else "running", "ExitCode": self.exit_code}}

    def logs(self, **kwargs: Any) -> bytes:
        return self.log.encode()

    def get_archive(self, path: str) -> tuple[Any, dict[str, Any]]:
        from docker.errors import NotFound

        assert path == JUNIT_REPORT
        if self.report is None:
            raise NotFound("no such file")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            entry = tarfile.TarInfo("report.xml")
            entry.size = len(self.report)
            archive.addfile(entry, io.BytesIO(self.report))
        return iter([buffer.getvalue()]), {}

    def remove(self, **kwargs: Any) -> None:
        self.removed = True


class FakeContainers:
    def __init__(self, container: FakeContainer) -> None:
        self.container = container
        self.created: list[tuple[str, dict[str, Any]]] = []

    def create(self, image: str, **options: Any) -> FakeContainer:
        self.created.append((image, options))
        return self.container


class FakeClient:
    def __init__(self, container: FakeContainer) -> None:
        self.containers = FakeContainers(container)


class RecordingProgress(NullProgress):
    def __init__(self) -> None:
        self.items: list[str] = []

    def advance(self, item: str = "") -> None:
        self.items.append(item)


@dataclass
class Built:
    image: str


@pytest.fixture
def story(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The story notebook beside a capsule folder, with building replaced by a known image."""
    notebook = write(tmp_path / "story.ipynb", story_notebook())
    (tmp_path / "story.capsule").mkdir()
    (tmp_path / "story.capsule" / "capsule.toml").write_text("schema = 1\n")
    monkeypatch.setattr("envcapsule.image.build.build", lambda folder, **options: Built(IMAGE))
    monkeypatch.setattr(verify_module, "POLL_INTERVAL", 0.001)
    return notebook


def test_verify_puts_the_notebook_in_runs_nbval_reads_its_report_and_removes_the_container(story: Path) -> None:
    container = FakeContainer(log=STORY_LOG, report=STORY_REPORT.encode(), polls_until_exit=2)
    client = FakeClient(container)
    progress = RecordingProgress()
    report = verify(story, client=client, progress=progress)  # type: ignore[arg-type]

    assert (report.image, report.differing, report.errored) == (IMAGE, 2, 2)
    assert client.containers.created[0][0] == IMAGE
    assert container.started and container.removed
    [(path, data)] = container.put
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        names = archive.getnames()
        sent = json.loads(archive.extractfile("home/jovyan/story.ipynb").read())  # type: ignore[union-attr]
        sanitize = archive.extractfile("home/jovyan/.envcapsule-verify/sanitize.cfg").read().decode()  # type: ignore[union-attr]
    assert path == "/"
    assert "home/jovyan/.envcapsule-verify/pytest.ini" in names
    assert sent == story_notebook()
    assert f"regex: {re.escape(str(story.parent))}\n" in sanitize
    assert progress.items[:2] == ["cell 1 (id load): passed", "cell 2 (id sum): failed"]
    assert len(progress.items) == 9


def test_a_check_past_its_time_limit_names_the_running_cell_and_leaves_nothing_behind(
    story: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_module, "STARTUP_ALLOWANCE", 0.0)
    container = FakeContainer(log="collected 9 items\nstory::ipynb::Cell 0 PASSED\n", report=None, polls_until_exit=None)
    # 9 code cells of 0.05 s each: the whole check may take 0.45 s.
    assert verify_module.run_limit(0.05, 9) == pytest.approx(0.45)
    with pytest.raises(VerifyTimeout, match=r"did not finish within 0\.45 s \(cell 2 \(id sum\) was still running\)") as caught:
        verify(story, timeout=0.05, client=FakeClient(container))  # type: ignore[arg-type]
    assert container.removed
    assert "stopped and removed" in str(caught.value)


def test_ctrl_c_while_waiting_removes_the_container(story: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    container = FakeContainer(log="", report=None, polls_until_exit=None)

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(verify_module.time, "sleep", interrupt)
    with pytest.raises(KeyboardInterrupt):
        verify(story, client=FakeClient(container))  # type: ignore[arg-type]
    assert container.removed


def test_an_image_without_nbval_says_to_rebuild_it(story: Path) -> None:
    container = FakeContainer(log="/opt/envcapsule/server/bin/python: No module named pytest\n", report=None, exit_code=1)
    with pytest.raises(VerifyError, match=r"has no pytest and nbval in its server environment .* `envcapsule build --no-cache`"):
        verify(story, client=FakeClient(container))  # type: ignore[arg-type]
    assert container.removed


def test_no_report_for_another_reason_shows_the_log_tail(story: Path) -> None:
    container = FakeContainer(log="Fatal Python error: something\n", report=None, exit_code=3)
    with pytest.raises(
        VerifyError, match=r"nbval wrote no report in .* \(pytest exited with code 3\); its last log lines:\n  Fatal"
    ):
        verify(story, client=FakeClient(container))  # type: ignore[arg-type]


def write(path: Path, notebook: dict[str, Any]) -> Path:
    path.write_text(json.dumps(notebook, indent=1))
    return path
