"""The default sanitizers on real outputs: they replace what depends on the run and leave every value that could be data."""

from __future__ import annotations

import datetime
import io
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from envcapsule.verify.sanitize import SanitizerError, Window, build_sanitizers, describe, parse_sanitizers, read_sanitizers

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FOLDER = Path("/work/project")


def clean(text: str, windows: list[Window], **options: object) -> tuple[str, Counter[str]]:
    tally: Counter[str] = Counter()
    sanitizers = build_sanitizers(FOLDER, "/home/jovyan", ["/srv/envs/analysis", "/opt/envcapsule/kernel"], **options)  # type: ignore[arg-type]
    return sanitizers.clean(text, windows, tally), tally


def this_run() -> list[Window]:
    now = time.time()
    return [Window(now - 2, now + 2)]


def test_a_dataframe_keeps_its_data_dates_and_loses_the_time_it_was_made() -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["1999-01-01 00:00:00", "2021-06-30 12:00:00"]), "n": [1, 2]})
    frame["made"] = pd.Timestamp.now()
    text, tally = clean(repr(frame), this_run())
    assert "1999-01-01" in text and "2021-06-30 12:00:00" in text
    assert "DATETIME" in text and str(frame["made"][0])[:19] not in text
    assert tally == Counter(timestamp=2)


def test_a_date_of_today_in_a_run_is_sanitized_but_not_with_no_window() -> None:
    today = datetime.date.today().isoformat()
    assert clean(f"report for {today}", this_run())[0] == "report for DATE"
    assert clean(f"report for {today}", [])[0] == f"report for {today}"  # a stored notebook without execution times


@pytest.mark.parametrize(
    "made",
    [
        lambda: str(datetime.datetime.now()),
        lambda: datetime.datetime.now(datetime.timezone.utc).isoformat(),
        lambda: repr(datetime.datetime.now()),
        lambda: repr(datetime.datetime.now(datetime.timezone.utc)),
        lambda: time.ctime(),
        lambda: str(time.time()),
    ],
)
def test_every_usual_spelling_of_now_is_a_timestamp(made: object) -> None:
    text, tally = clean(f"at {made()} done", this_run())  # type: ignore[operator]
    assert text in ("at DATETIME done", "at TIMESTAMP done")
    assert tally == Counter(timestamp=1)


def test_a_time_outside_the_run_is_data() -> None:
    an_hour_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    assert clean(an_hour_ago.isoformat(), this_run())[0] == an_hour_ago.isoformat()
    assert clean(str(time.time() - 3600), this_run())[1] == Counter()


def test_a_plots_reprs_lose_their_addresses_but_hex_data_stays() -> None:
    figure, axes = plt.subplots()
    image = axes.imshow([[1, 2], [3, 4]])
    bar = figure.colorbar(image)
    text = f"{bar!r}\n{axes.plot([1, 2])!r}\nmask 0xdeadbeef"
    cleaned, tally = clean(text, [])
    assert (
        cleaned
        == "<matplotlib.colorbar.Colorbar object at 0xADDRESS>\n[<matplotlib.lines.Line2D object at 0xADDRESS>]\nmask 0xdeadbeef"
    )
    assert tally == Counter(address=2)
    plt.close(figure)


def test_a_traceback_printed_from_a_temporary_file_loses_the_temporary_path() -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write("def fail():\n    raise ValueError('bad')\n")
    namespace: dict[str, object] = {}
    exec(compile(Path(script.name).read_text(), script.name, "exec"), namespace)
    stream = io.StringIO()
    try:
        namespace["fail"]()  # type: ignore[operator]
    except ValueError:
        traceback.print_exc(file=stream)
    Path(script.name).unlink()
    cleaned, tally = clean(stream.getvalue(), [])
    assert script.name not in cleaned and 'File "TMPPATH", line 2, in fail' in cleaned
    assert cleaned.endswith("ValueError: bad\n") and tally[("temporary path")] == 1


def test_the_notebook_folder_and_the_kernel_environment_read_the_same_on_host_and_image() -> None:
    host = "/srv/envs/analysis/lib/python3.11/site-packages/pandas/core/frame.py:12: FutureWarning\n/work/project/data.csv"
    image = "/opt/envcapsule/kernel/lib/python3.11/site-packages/pandas/core/frame.py:12: FutureWarning\n/home/jovyan/data.csv"
    assert (
        clean(host, [])[0]
        == clean(image, [])[0]
        == ("KERNEL-ENV/lib/python3.11/site-packages/pandas/core/frame.py:12: FutureWarning\nNOTEBOOK-FOLDER/data.csv")
    )
    assert clean("/work/projects/other.csv", [])[0] == "/work/projects/other.csv"  # a sibling folder is not the notebook's


def test_without_defaults_only_the_users_sanitizers_apply(tmp_path: Path) -> None:
    mine = tmp_path / "mine.cfg"
    mine.write_text("[run ids]\nregex: run-[0-9]+\nreplace: RUN\n")
    text = "run-42 <object object at 0x7f3a2b10c9d0> /tmp/x"
    assert clean(text, this_run(), user_file=mine, defaults=False) == (
        "RUN <object object at 0x7f3a2b10c9d0> /tmp/x",
        Counter({"[run ids] sanitizer": 1}),
    )
    assert clean(text, this_run(), user_file=mine)[0] == "RUN <object object at 0xADDRESS> TMPPATH"


def test_a_tally_reads_as_a_sentence() -> None:
    assert describe(Counter(address=1, timestamp=1)) == "2 values sanitized: 1 address, 1 timestamp"
    assert describe(Counter(address=2)) == "2 values sanitized: 2 addresses"


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


def test_the_users_file_is_read_leniently_and_named_groups_may_be_used(tmp_path: Path) -> None:
    [sanitizer] = parse_sanitizers("  regex:(?P<unit>ms|s) elapsed\r\n  replace:\\g<unit> ELAPSED\n", "mine.cfg")
    assert (sanitizer.regex, sanitizer.replace) == ("(?P<unit>ms|s) elapsed", "\\g<unit> ELAPSED")
