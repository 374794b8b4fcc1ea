"""The runner verify puts into the image, run here with this environment's kernel: cells go in as Jupyter sends them.

IPython hides a cell's result when its last line ends in ``;`` by reading the input history,
so a cell sent without ``store_history`` (nbval's way) shows a result its author never saw.
The runner sends cells through nbclient with ``store_history=True``, as JupyterLab and
``jupyter nbconvert --execute`` do; these tests show both ways on a real kernel.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from envcapsule.verify import runner as verify_kernel

COLORBAR = "import matplotlib.pyplot as plt\nplt.imshow([[1, 2], [3, 4]])\nplt.colorbar();"  # a Data Science Handbook cell


def code(source: str) -> dict[str, Any]:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}


def notebook(*sources: str) -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [{**code(s), "id": f"c{i}"} for i, s in enumerate(sources)],
    }


def run_runner(tmp_path: Path, content: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    (tmp_path / "nb.ipynb").write_text(json.dumps(content))
    plan = {
        "notebook": str(tmp_path / "nb.ipynb"),
        "kernel": "python3",
        "timeout": timeout,
        "cwd": str(tmp_path),
        "cells": [{"index": i, "run": True} for i, cell in enumerate(content["cells"]) if cell["cell_type"] == "code"],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    subprocess.run(
        [sys.executable, verify_kernel.__file__, str(tmp_path / "plan.json"), str(tmp_path / "result.json")],
        check=True,
        timeout=300,
    )
    return json.loads((tmp_path / "result.json").read_text())


def results_of(result: dict[str, Any]) -> list[list[str]]:
    return [[o.get("output_type", "") for o in cell["outputs"]] for cell in result["cells"]]


def test_a_trailing_semicolon_hides_the_result_as_it_did_for_the_author(tmp_path: Path) -> None:
    result = run_runner(tmp_path, notebook("x = 1; x;", "x", COLORBAR))
    outputs = results_of(result)
    assert outputs[0] == []  # x = 1; x;  shows nothing
    assert outputs[1] == ["execute_result"]
    assert outputs[2] == ["display_data"]  # the figure, and no <matplotlib.colorbar.Colorbar at 0x…>
    assert result["language_info"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert result["stopped"] is None and result["started"] <= result["ended"]


def test_sending_cells_without_storing_them_is_what_showed_the_hidden_result(tmp_path: Path) -> None:
    """The root cause: the same cell sent with store_history=False (as nbval sends it) shows the result."""
    client = NotebookClient(nbformat.from_dict(notebook("x = 1; x;", "x = 1; x;")), kernel_name="python3", timeout=60)
    with client.setup_kernel():
        unstored = client.execute_cell(client.nb.cells[0], 0, store_history=False)
        stored = client.execute_cell(client.nb.cells[1], 1, store_history=True)
    assert [o["output_type"] for o in unstored["outputs"]] == ["execute_result"]
    assert [o["output_type"] for o in stored["outputs"]] == []


def test_a_kernel_that_exits_stops_the_run_at_that_cell_with_its_exit_code(tmp_path: Path) -> None:
    result = run_runner(tmp_path, notebook("print('one')", "import os\nos._exit(3)", "print('three')"), timeout=600)
    assert result["stopped"]["reason"] == "kernel-died"
    assert (result["stopped"]["index"], result["stopped"]["exit_code"]) == (1, 3)
    assert [cell["index"] for cell in result["cells"]] == [0]


def test_a_cell_past_its_timeout_stops_the_run_and_says_how_long_it_ran(tmp_path: Path) -> None:
    result = run_runner(tmp_path, notebook("import time\ntime.sleep(30)", "print('after')"), timeout=1)
    assert (result["stopped"]["reason"], result["stopped"]["index"]) == ("timeout", 0)
    assert result["stopped"]["seconds"] >= 1
    assert result["cells"] == []


def test_a_skipped_cell_is_not_sent_to_the_kernel(tmp_path: Path) -> None:
    content = notebook("print('first')", "raise SystemExit('must not run')")
    (tmp_path / "nb.ipynb").write_text(json.dumps(content))
    plan = {"notebook": str(tmp_path / "nb.ipynb"), "kernel": "python3", "timeout": 60, "cwd": str(tmp_path)}
    plan["cells"] = [{"index": 0, "run": True}, {"index": 1, "run": False}]
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    subprocess.run([sys.executable, verify_kernel.__file__, str(tmp_path / "plan.json"), str(tmp_path / "r.json")], check=True)
    result = json.loads((tmp_path / "r.json").read_text())
    assert [cell["index"] for cell in result["cells"]] == [0]
