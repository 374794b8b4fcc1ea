"""verify.json beside the capsule: the last result with its report, and a history of the last 20 runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from envcapsule.status import HISTORY, read_verify, record_verify


def report(n: int, **changes: Any) -> dict[str, Any]:
    base = {
        "notebook": "story.ipynb",
        "image": f"envcapsule/story:{n:012d}",
        "status": "reproduced",
        "reproduced": True,
        "exact_conditions": n % 2 == 0,
        "warnings": [] if n % 2 == 0 else ["The image's Python is 3.11.2, the capture's 3.11.7 (another patch version)."],
        "ran_at": f"2026-01-{n % 28 + 1:02d}T10:00:00Z",
        "total": 2,
        "reproduced_cells": 2,
        "differing": 0,
        "errored": 0,
        "skipped": 0,
        "ignored": 0,
        "message": f"run {n}",
        "cells": [{"index": 1, "status": "reproduced", "diff": None}],
    }
    return {**base, **changes}


def test_the_last_run_is_kept_whole_and_every_run_is_in_the_history(tmp_path: Path) -> None:
    record_verify(tmp_path, report(1))
    record_verify(tmp_path, report(2, reproduced=False, status="not-reproduced", message="1 of 2 cells did not reproduce"))
    kept = read_verify(tmp_path)
    assert kept is not None
    assert (kept["reproduced"], kept["message"], kept["at"]) == (False, "1 of 2 cells did not reproduce", "2026-01-03T10:00:00Z")
    assert kept["report"]["cells"] == [{"index": 1, "status": "reproduced", "diff": None}]
    assert [(entry["at"], entry["reproduced"]) for entry in kept["history"]] == [
        ("2026-01-02T10:00:00Z", True),
        ("2026-01-03T10:00:00Z", False),
    ]
    assert kept["history"][0]["warnings"] == ["The image's Python is 3.11.2, the capture's 3.11.7 (another patch version)."]
    assert kept["history"][0]["exact_conditions"] is False


def test_the_history_keeps_the_last_twenty_oldest_first(tmp_path: Path) -> None:
    for n in range(HISTORY + 5):
        record_verify(tmp_path, report(n))
    history = json.loads((tmp_path / "verify.json").read_text())["history"]
    assert HISTORY == 20 and len(history) == 20
    assert [entry["message"] for entry in history] == [f"run {n}" for n in range(5, 25)]


def test_a_long_diff_is_cut_in_the_kept_report(tmp_path: Path) -> None:
    record_verify(tmp_path, report(1, cells=[{"index": 1, "status": "differs", "diff": "x" * 10_000}]))
    kept = read_verify(tmp_path)
    assert kept is not None
    diff = kept["report"]["cells"][0]["diff"]
    assert len(diff) < 5000 and diff.endswith("(cut; run verify again to see it whole)")


def test_an_unreadable_record_starts_a_new_history(tmp_path: Path) -> None:
    (tmp_path / "verify.json").write_text("{not json")
    assert read_verify(tmp_path) is None
    record_verify(tmp_path, report(3))
    kept = read_verify(tmp_path)
    assert kept is not None and len(kept["history"]) == 1
