"""verify on a real Docker engine: a notebook executed on the host is re-executed in its capsule's image.

The notebook is run on the host in the session's kernel environment (jupyter_client or nbclient,
so nothing is installed into it), snapshotted, built once, and checked: as saved, with one stored
output edited, with outputs really made under another tabulate version, with no outputs at all,
with dates made by the run and dates in the data, with trailing semicolons, with a kernel that
exits, and a capsule captured on another Python patch version than the image's.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envcapsule.verify import check as verify_module
from envcapsule.verify.check import VerifyReport, VerifyTimeout, verify
from tests.support import BASE_IMAGE, DEBIAN_PYTHON, require, run

pytestmark = pytest.mark.integration

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def code(cell_id: str, source: str) -> dict[str, Any]:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source, "outputs": [], "execution_count": None}


def story() -> dict[str, Any]:
    """Deterministic cells: a package version, a seeded computation, a table, a result and a memory address."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Does it reproduce?"},
            code("versions", "import numpy as np\nimport tabulate\nprint('tabulate', tabulate.__version__)"),
            code(
                "numbers", "rng = np.random.default_rng(20261121)\nvalues = rng.normal(size=5).round(6)\nprint(values.tolist())"
            ),
            code("table", "print(tabulate.tabulate([['a', 1], ['b', 22]], headers=['name', 'n']))"),
            code("total", "float(values.sum().round(6))"),
            code("address", "object()"),
        ],
    }


def execute(notebook: dict[str, Any], python: Path, folder: Path) -> dict[str, Any]:
    """Run every code cell in a kernel of ``python`` and store the outputs the way Jupyter saves them."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    specs = folder / f"kernels-{python.parent.parent.name}"
    (specs / "host").mkdir(parents=True, exist_ok=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (specs / "host" / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "host", "language": "python"}))
    manager = KernelManager(kernel_name="host", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
    manager.start_kernel(cwd=str(folder))
    client = manager.client()
    client.start_channels()
    executed = copy.deepcopy(notebook)
    try:
        client.wait_for_ready(timeout=60)
        for cell in executed["cells"]:
            if cell["cell_type"] != "code":
                continue
            outputs: list[dict[str, Any]] = []
            reply = client.execute_interactive(
                cell["source"], output_hook=functools.partial(collect, outputs=outputs), timeout=60
            )
            assert reply["content"]["status"] == "ok", reply["content"]
            cell["outputs"], cell["execution_count"] = outputs, reply["content"]["execution_count"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return executed


def collect(message: dict[str, Any], *, outputs: list[dict[str, Any]]) -> None:
    kind, content = message["msg_type"], message["content"]
    if kind == "stream":
        if outputs and outputs[-1]["output_type"] == "stream" and outputs[-1]["name"] == content["name"]:
            outputs[-1]["text"] += content["text"]
        else:
            outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
    elif kind in ("execute_result", "display_data"):
        output = {"output_type": kind, "data": content["data"], "metadata": content["metadata"]}
        if kind == "execute_result":
            output["execution_count"] = content["execution_count"]
        outputs.append(output)


def save(path: Path, notebook: dict[str, Any]) -> Path:
    path.write_text(json.dumps(notebook, indent=1) + "\n")
    return path


def stdout_of(notebook: dict[str, Any], cell_id: str) -> str:
    [cell] = [cell for cell in notebook["cells"] if cell.get("id") == cell_id]
    return "".join(output["text"] for output in cell["outputs"] if output.get("name") == "stdout")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("verify")


@pytest.fixture(scope="module")
def executed(folder: Path, kernel_env: Path) -> dict[str, Any]:
    return execute(story(), kernel_env, folder)


@pytest.fixture(scope="module")
def capsule(folder: Path, executed: dict[str, Any], kernel_env: Path, shared_cache: Path, docker_client: Any) -> Iterator[Path]:
    """The capsule of the executed notebook, built into an image once for the whole module."""
    from envcapsule.image.build import build

    notebook = save(folder / "story.ipynb", executed)
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(shared_cache)}
    run(sys.executable, "-m", "envcapsule", "snapshot", notebook, "--python", kernel_env, "--json", env=env)
    capsule_dir = folder / "story.capsule"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVCAPSULE_CACHE_DIR", str(shared_cache))
        built = build(capsule_dir, base_image=BASE_IMAGE, client=docker_client)
    yield capsule_dir
    docker_client.images.remove(built.image_id, force=True)


@pytest.fixture(autouse=True)
def _cache(shared_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVCAPSULE_CACHE_DIR", str(shared_cache))


@pytest.fixture(autouse=True)
def _no_container_left(docker_client: Any) -> Iterator[None]:
    yield
    assert docker_client.containers.list(all=True, filters={"label": "envcapsule.verify=true"}) == []


def check(notebook: Path, capsule: Path, docker_client: Any, **options: Any) -> VerifyReport:
    return verify(notebook, capsule_dir=capsule, base_image=BASE_IMAGE, client=docker_client, **options)


def test_the_saved_notebook_reproduces_in_its_image(folder: Path, capsule: Path, docker_client: Any) -> None:
    report = check(folder / "story.ipynb", capsule, docker_client)
    assert report.reproduced, report.render_text()
    assert (report.total, report.reproduced_cells, report.differing, report.errored) == (5, 5, 0, 0)
    assert [cell.id for cell in report.cells] == ["versions", "numbers", "table", "total", "address"]
    assert report.render_text().startswith("Reproduced 5 of 5 cells of story.ipynb in envcapsule/story:")
    assert report.to_json()["reproduced"] is True
    assert report.exact_conditions, report.warnings
    conditions = report.to_json()["conditions"]
    assert (conditions["python_image"], conditions["python_captured"]) == ("3.11.2", "3.11.2")
    assert next(cell for cell in report.cells if cell.id == "address").sanitized == {"address": 1}


def test_an_edited_output_is_named_by_cell_with_a_diff(
    folder: Path, executed: dict[str, Any], capsule: Path, docker_client: Any
) -> None:
    edited = copy.deepcopy(executed)
    stored = stdout_of(edited, "numbers")
    [output] = edited["cells"][2]["outputs"]
    output["text"] = stored.replace("[", "[9.", 1)
    report = check(save(folder / "edited.ipynb", edited), capsule, docker_client)

    assert not report.reproduced
    [differs] = [cell for cell in report.cells if cell.status != "reproduced"]
    assert (differs.index, differs.id, differs.status) == (2, "numbers", "differs")
    assert differs.diff is not None
    assert f"-{stored.replace('[', '[9.', 1).strip()}" in differs.diff.splitlines()
    assert f"+{stored.strip()}" in differs.diff.splitlines()
    assert "cell 2 (id numbers) differs" in report.message
    text = report.render_text()
    assert text == check(folder / "edited.ipynb", capsule, docker_client).render_text()  # stable across runs
    assert str(folder) not in text


def test_outputs_made_with_another_package_version_do_not_reproduce(
    folder: Path, kernel_env: Path, capsule: Path, docker_client: Any
) -> None:
    older = older_tabulate(kernel_env, folder)
    executed = execute(story(), older, folder)
    assert stdout_of(executed, "versions") == "tabulate 0.8.10\n"
    report = check(save(folder / "older.ipynb", executed), capsule, docker_client)

    assert not report.reproduced
    versions = next(cell for cell in report.cells if cell.id == "versions")
    assert (versions.index, versions.status) == (1, "differs")
    assert versions.diff is not None
    assert "-tabulate 0.8.10" in versions.diff.splitlines() and "+tabulate 0.9.0" in versions.diff.splitlines()
    assert next(cell for cell in report.cells if cell.id == "numbers").status == "reproduced"


def test_a_notebook_without_outputs_is_explained_not_passed(folder: Path, capsule: Path, docker_client: Any) -> None:
    report = check(save(folder / "fresh.ipynb", story()), capsule, docker_client)
    assert (report.status, report.reproduced) == ("no-outputs", False)
    assert "has no stored outputs to compare" in report.message


def test_a_slow_cell_fails_on_its_own_limit_or_stops_the_whole_check(
    folder: Path, executed: dict[str, Any], capsule: Path, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = copy.deepcopy(executed)
    slow["cells"].insert(3, {**code("nap", "import time\ntime.sleep(60)"), "execution_count": 9})
    notebook = save(folder / "slow.ipynb", slow)

    report = check(notebook, capsule, docker_client, timeout=3)
    nap = next(cell for cell in report.cells if cell.id == "nap")
    assert (nap.index, nap.status) == (3, "errored")
    assert nap.message is not None and nap.message.startswith("ran past the 3 s cell timeout and was stopped after 3.")
    assert [cell.status for cell in report.cells if cell.index > 3] == ["skipped", "skipped", "skipped"]

    # A bound as short as one cell's limit stops the whole check while the slow cell runs.
    monkeypatch.setattr(verify_module, "run_limit", lambda cell_timeout, cells: cell_timeout)
    with pytest.raises(VerifyTimeout, match=r"cell 3 \(id nap\) was still running"):
        check(notebook, capsule, docker_client, timeout=15)


def older_tabulate(kernel_env: Path, folder: Path) -> Path:
    """A venv that sees the kernel environment's packages but finds tabulate 0.8.10 first; kernel_env is untouched."""
    scratch = folder / "older-env"
    run(DEBIAN_PYTHON, "-m", "venv", "--without-pip", scratch)
    python = scratch / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    kernel_site = run(kernel_env, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    run(kernel_env, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, "tabulate==0.8.10")
    (site / "zz-kernel-env.pth").write_text(kernel_site + "\n")  # .pth paths come after the venv's own site-packages
    return python


def test_the_check_runs_as_the_notebook_user_offline_in_the_capsule_kernel(
    folder: Path, capsule: Path, docker_client: Any
) -> None:
    """Stored outputs written by hand with what must hold inside the container; reproducing them proves it."""

    def cell(cell_id: str, source: str, printed: str) -> dict[str, Any]:
        return {
            **code(cell_id, source),
            "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": printed}],
        }

    offline = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\n    print('online')\nexcept OSError:\n    print('offline')"
    notebook = {
        **story(),
        "cells": [
            cell("who", "import os\nprint(os.getuid(), os.getcwd())", "1000 /home/jovyan\n"),
            cell("kernel", "import sys\nprint(sys.executable)", "/opt/envcapsule/kernel/bin/python\n"),
            cell("network", offline, "offline\n"),
        ],
    }
    report = check(save(folder / "inside.ipynb", notebook), capsule, docker_client)
    assert report.reproduced, report.render_text()


def execute_like_the_author(notebook: dict[str, Any], python: Path, folder: Path) -> dict[str, Any]:
    """Run the notebook with nbclient in a kernel of ``python``, as `jupyter nbconvert --execute` would (times recorded)."""
    import nbformat
    from nbclient import NotebookClient

    data = folder / f"jupyter-{python.parent.parent.name}"
    (data / "kernels" / "author").mkdir(parents=True, exist_ok=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "author", "language": "python"}
    (data / "kernels" / "author" / "kernel.json").write_text(json.dumps(spec))
    node = nbformat.from_dict(copy.deepcopy(notebook))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(data))  # the kernelspec is found there; nbclient owns and shuts down the kernel
        NotebookClient(node, kernel_name="author", timeout=120, resources={"metadata": {"path": str(folder)}}).execute()
    executed = json.loads(nbformat.writes(node))
    executed["metadata"]["kernelspec"] = KERNELSPEC
    return executed


def notebook_of(*cells: tuple[str, str]) -> dict[str, Any]:
    return {**story(), "cells": [code(cell_id, source) for cell_id, source in cells]}


def test_dates_made_by_the_run_reproduce_and_a_changed_data_date_does_not(
    folder: Path, kernel_env: Path, capsule: Path, docker_client: Any
) -> None:
    executed = execute_like_the_author(
        notebook_of(
            ("now", "import datetime\nprint('made at', datetime.datetime.now())"),
            ("data", "print('first order', datetime.date(1999, 1, 1))"),
        ),
        kernel_env,
        folder,
    )
    report = check(save(folder / "dates.ipynb", executed), capsule, docker_client)
    assert report.reproduced, report.render_text()
    assert next(cell for cell in report.cells if cell.id == "now").sanitized == {"timestamp": 1}

    changed = copy.deepcopy(executed)
    changed["cells"][1]["outputs"][0]["text"] = "first order 1998-12-31\n"
    report = check(save(folder / "dates-changed.ipynb", changed), capsule, docker_client)
    assert not report.reproduced
    data = next(cell for cell in report.cells if cell.id == "data")
    assert data.status == "differs" and data.diff is not None
    assert "-first order 1998-12-31" in data.diff.splitlines() and "+first order 1999-01-01" in data.diff.splitlines()


def test_trailing_semicolons_hide_results_in_the_image_as_they_did_for_the_author(
    folder: Path, kernel_env: Path, capsule: Path, docker_client: Any
) -> None:
    executed = execute_like_the_author(
        notebook_of(
            ("colorbar", "import matplotlib.pyplot as plt\nplt.imshow([[1, 2], [3, 4]])\nplt.colorbar();"),
            ("quiet", "x = 1; x;"),
            ("loud", "x"),
        ),
        kernel_env,
        folder,
    )
    assert [output["output_type"] for output in executed["cells"][0]["outputs"]] == ["display_data"]
    assert executed["cells"][1]["outputs"] == []
    report = check(save(folder / "semicolons.ipynb", executed), capsule, docker_client)
    assert report.reproduced, report.render_text()
    assert (report.total, report.reproduced_cells) == (3, 3)


def test_a_kernel_that_exits_stops_the_run_at_once_naming_its_cell(folder: Path, capsule: Path, docker_client: Any) -> None:
    notebook = notebook_of(("first", "print(1)"), ("exit", "import os\nos._exit(1)"), ("third", "print(3)"))
    for number, cell in enumerate(notebook["cells"], start=1):
        cell["execution_count"] = number
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": f"{number}\n"}]
    report = check(save(folder / "exits.ipynb", notebook), capsule, docker_client, timeout=600)
    assert not report.reproduced
    died = next(cell for cell in report.cells if cell.id == "exit")
    assert (died.index, died.status) == (1, "errored")
    assert died.message is not None and died.message.startswith("the kernel exited with code 1 while this cell ran")
    assert next(cell for cell in report.cells if cell.id == "third").message == "not run: the run stopped at cell 1 (id exit)"
    assert "cell 1 (id exit) errored" in report.message


@pytest.fixture(scope="module")
def newer_patch_capsule(folder: Path, shared_cache: Path, docker_client: Any) -> Iterator[tuple[Path, Path]]:
    """A notebook captured on this interpreter's Python (another 3.11 patch than the base image's), built on the base."""
    from envcapsule.image.build import build

    base_python = Path(sys.base_prefix) / "bin" / "python3"
    found = run(base_python, "-c", "import platform; print(platform.python_version())").strip()
    require(found.startswith("3.11.") and found != "3.11.2", f"a Python 3.11 other than 3.11.2 is needed, not {found}")
    root = folder / "patch"
    run(base_python, "-m", "venv", root / "env")
    python = root / "env" / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "ipykernel")
    executed = execute_like_the_author(notebook_of(("sum", "1 + 1")), python, root)
    notebook = save(root / "patch.ipynb", executed)
    env = {**os.environ, "ENVCAPSULE_CACHE_DIR": str(shared_cache)}
    run(sys.executable, "-m", "envcapsule", "snapshot", notebook, "--python", python, "--json", env=env)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ENVCAPSULE_CACHE_DIR", str(shared_cache))
        built = build(root / "patch.capsule", base_image=BASE_IMAGE, client=docker_client)
    yield notebook, root / "patch.capsule"
    docker_client.images.remove(built.image_id, force=True)


def test_another_python_patch_version_reproduces_but_not_under_exact_conditions(
    newer_patch_capsule: tuple[Path, Path], docker_client: Any
) -> None:
    notebook, capsule_dir = newer_patch_capsule
    captured = run(sys.executable, "-c", "import platform; print(platform.python_version())").strip()
    report = check(notebook, capsule_dir, docker_client)
    data = report.to_json()
    assert (data["reproduced"], data["exact_conditions"]) == (True, False)
    assert f"The image's Python is 3.11.2, the capture's {captured} (another patch version)" in " ".join(data["warnings"])
    assert "warning: The image's Python is 3.11.2" in report.render_text()
    labels = docker_client.images.get(report.image).labels
    assert labels["envcapsule.python"] == "3.11.2"
