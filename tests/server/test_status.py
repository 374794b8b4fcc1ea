"""GET status with the real core: a capsule made by a real (offline) snapshot of this interpreter's environment."""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
from pathlib import Path
from typing import Any

import pytest

from envcapsule.capture import probe_interpreter
from envcapsule.snapshot import snapshot
from tests.server.conftest import Api, payload
from tests.server.fake_core import FakeCore
from tests.server.spec import properties


@pytest.fixture(autouse=True)
def _private_runtime_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing containers tidies runtime records; keep the user's out of reach."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("xdg-runtime")))


def snapshot_offline(notebook: Path, facts: Any = None) -> str:
    """A real capsule of sys.executable's environment without the network (every look-up a recorded warning)."""
    return snapshot(notebook, python=sys.executable, facts=facts, offline=True).capsule_hash


async def test_status_of_a_notebook_without_a_capsule(api: Api, notebook: str) -> None:
    response = await api("status", params={"path": notebook})
    assert response.code == 200
    status = payload(response)
    assert (status["state"], status["capsule_hash"], status["path"], status["jobs"]) == ("none", None, notebook, [])


async def test_status_of_a_fresh_capsule_is_up_to_date(api: Api, notebook: str, jp_root_dir: Path) -> None:
    capsule_hash = snapshot_offline(jp_root_dir / notebook)
    response = await api("status", params={"path": notebook})
    assert response.code == 200
    status = payload(response)
    assert status["state"] == "up-to-date", status["changes"]
    assert status["capsule_hash"] == capsule_hash
    assert status["python"] == platform.python_version()
    assert status["packages"] > 10
    assert status["cuda"] is None
    assert status["image"].startswith("envcapsule/analysis:")
    assert status["warnings"]  # offline: nothing could be looked up, and the capsule says so
    if status["engine_error"] is None:
        assert isinstance(status["image_built"], bool)
    else:
        assert status["image_built"] is None
    assert set(status) == properties("Status")


async def test_status_names_the_package_that_drifted(api: Api, notebook: str, jp_root_dir: Path) -> None:
    live = probe_interpreter(Path(sys.executable))
    numpy = live.distribution("numpy")
    assert numpy is not None
    captured = dataclasses.replace(
        live, distributions=tuple(dataclasses.replace(d, version="1.0.0") if d.name == "numpy" else d for d in live.distributions)
    )
    snapshot_offline(jp_root_dir / notebook, facts=captured)
    status = payload(await api("status", params={"path": notebook}))
    assert status["state"] == "drifted"
    assert f"numpy 1.0.0 → {numpy.version}" in status["changes"]


async def test_status_answers_when_the_engine_is_down(
    api: Api, notebook: str, jp_root_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot_offline(jp_root_dir / notebook)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    response = await api("status", params={"path": notebook})
    assert response.code == 200
    status = payload(response)
    assert status["state"] == "up-to-date"
    assert status["image_built"] is None
    assert "No Docker engine is listening" in status["engine_error"]
    assert status["image"].startswith("envcapsule/analysis:")


async def test_the_interpreter_comes_from_the_notebooks_running_kernel(
    api: Api, jp_fetch: Any, fake_core: FakeCore, jp_root_dir: Path
) -> None:
    # metadata names a kernel that does not exist: only the session can tell the interpreter
    (jp_root_dir / "session.ipynb").write_text(
        '{"cells": [], "metadata": {"kernelspec": {"name": "nowhere"}}, "nbformat": 4, "nbformat_minor": 5}'
    )
    await api("status", params={"path": "session.ipynb"})
    assert fake_core.calls[-1][1]["python"] is None

    body = '{"path": "session.ipynb", "type": "notebook", "kernel": {"name": "python3"}}'
    session = await jp_fetch("api", "sessions", method="POST", body=body)
    assert session.code == 201
    await api("status", params={"path": "session.ipynb"})
    assert fake_core.calls[-1][1]["python"] == sys.executable


@pytest.mark.parametrize(
    ("argv0", "expected"),
    [
        ("python", sys.executable),  # jupyter_client starts these with the server's own interpreter
        (f"python{sys.version_info[0]}.{sys.version_info[1]}", sys.executable),
        ("/opt/elsewhere/bin/python3", "/opt/elsewhere/bin/python3"),
    ],
)
async def test_without_a_session_the_interpreter_comes_from_the_metadata_kernelspec(
    api: Api, fake_core: FakeCore, jp_root_dir: Path, jp_data_dir: Path, argv0: str, expected: str
) -> None:
    spec = jp_data_dir / "kernels" / "project-env"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {"argv": [argv0, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "p", "language": "python"}
        )
    )
    (jp_root_dir / "nb.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {"kernelspec": {"name": "project-env"}}, "nbformat": 4, "nbformat_minor": 5})
    )
    assert (await api("status", params={"path": "nb.ipynb"})).code == 200
    assert fake_core.calls[-1][1]["python"] == expected


async def test_usage_of_a_notebook_without_a_capsule_lists_no_containers(api: Api, notebook: str) -> None:
    response = await api("usage", params={"path": notebook})
    assert response.code == 200
    assert payload(response) == {"path": notebook, "containers": []}


async def test_usage_when_the_engine_is_down_is_503_with_the_reason(
    api: Api, notebook: str, jp_root_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot_offline(jp_root_dir / notebook)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    response = await api("usage", params={"path": notebook})
    assert response.code == 503
    assert "No Docker engine is listening" in payload(response)["error"]
