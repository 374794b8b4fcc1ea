"""launch, list_running and stop against a fake engine: the options sent, the URLs, the records, the refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from docker.errors import APIError
from docker.types import DeviceRequest

from envcapsule.run import ContainerError, LaunchError, launch, list_running, stop
from envcapsule.run.launched import lab_url
from tests.run.fake_engine import IMAGE, IMAGE_LABELS, FakeEngine, FakeJupyter


def single_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and message.count(". ") == 0


def test_launch_publishes_on_loopback_only_with_the_locked_down_defaults(engine: FakeEngine, jupyter: FakeJupyter) -> None:
    launched = launch(engine, IMAGE)

    options = engine.created[-1]
    assert options["ports"] == {"8888/tcp": ("127.0.0.1", None)}
    assert options["cap_drop"] == ["ALL"]
    assert options["security_opt"] == ["no-new-privileges"]
    assert options["init"] is True
    assert options["user"] == "1000:1000"
    assert options["detach"] is True
    assert options["command"][:2] == ["jupyter", "lab"]
    assert launched.port == jupyter.port
    assert launched.url == f"http://127.0.0.1:{jupyter.port}/lab/tree/analysis.ipynb?token={launched.token}"


def test_the_token_is_fresh_and_kept_out_of_labels_and_environment(engine: FakeEngine) -> None:
    first, second = launch(engine, IMAGE), launch(engine, IMAGE)

    assert first.token != second.token and len(first.token) == 48
    for options, launched in zip(engine.created, (first, second)):
        assert launched.token not in json.dumps(options["labels"])
        assert launched.token not in json.dumps(options.get("environment", {}))
        assert options["labels"] == {
            "envcapsule.managed": "true",
            "envcapsule.capsule-hash": IMAGE_LABELS["envcapsule.capsule-hash"],
            "envcapsule.notebook": "analysis.ipynb",
            "envcapsule.port": "8888",
        }


def test_a_requested_port_is_bound_on_loopback(engine: FakeEngine, jupyter: FakeJupyter) -> None:
    launched = launch(engine, IMAGE, port=jupyter.port)

    assert engine.created[-1]["ports"] == {"8888/tcp": ("127.0.0.1", jupyter.port)}
    assert launched.port == jupyter.port


def test_urls_quote_the_notebook_and_fall_back_to_the_lab_home() -> None:
    assert lab_url(8890, "t0k", "my analysis #2.ipynb") == "http://127.0.0.1:8890/lab/tree/my%20analysis%20%232.ipynb?token=t0k"
    assert lab_url(8890, "t0k", None) == "http://127.0.0.1:8890/lab?token=t0k"
    assert lab_url(8890, "", "a.ipynb") == "http://127.0.0.1:8890/lab/tree/a.ipynb"


def test_mounting_binds_the_notebook_folder_read_write_under_work(engine: FakeEngine, tmp_path: Path) -> None:
    launched = launch(engine, IMAGE, mount=tmp_path)

    assert engine.created[-1]["volumes"] == {str(tmp_path.resolve()): {"bind": "/home/jovyan/work", "mode": "rw"}}
    assert "/lab/tree/work/analysis.ipynb?token=" in launched.url
    assert list_running(engine)[0].url == launched.url


def test_a_missing_mount_folder_is_refused_before_anything_starts(engine: FakeEngine, tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="does not exist") as raised:
        launch(engine, IMAGE, mount=tmp_path / "nowhere")

    assert single_sentence(str(raised.value))
    assert engine.created == []


@pytest.mark.parametrize(
    ("gpus", "expected"),
    [
        (None, None),
        ([], DeviceRequest(count=-1, capabilities=[["gpu"]])),
        (["all"], DeviceRequest(count=-1, capabilities=[["gpu"]])),
        ([0, "1"], DeviceRequest(device_ids=["0", "1"], capabilities=[["gpu"]])),
    ],
)
def test_gpus_become_a_device_request(engine: FakeEngine, gpus: list[Any] | None, expected: DeviceRequest | None) -> None:
    launch(engine, IMAGE, gpus=gpus)

    assert engine.created[-1].get("device_requests") == (None if expected is None else [expected])


def test_a_missing_image_says_to_build_it_first(engine: FakeEngine) -> None:
    with pytest.raises(LaunchError) as raised:
        launch(engine, "envcapsule/other:deadbeef")

    assert (
        str(raised.value) == "The image envcapsule/other:deadbeef is not on this machine; build it first with `envcapsule build`."
    )


def test_a_port_in_use_names_the_remedy_and_leaves_nothing_behind(engine: FakeEngine) -> None:
    engine.next_container = {
        "start_error": APIError(
            "500 Server Error",
            explanation="driver failed programming external connectivity: Bind for 127.0.0.1:8888 failed: port is already allocated",
        )
    }
    with pytest.raises(LaunchError) as raised:
        launch(engine, IMAGE, port=8888)

    assert str(raised.value) == (
        "Port 8888 on 127.0.0.1 is already in use; choose another with `--port`, "
        "or leave `--port` out to let the engine pick a free one."
    )
    assert engine.containers_by_id == {}


def test_a_container_that_exits_early_reports_its_log_tail(engine: FakeEngine, runtime_dir: Path) -> None:
    lines = [f"line {n}" for n in range(30)] + ["ModuleNotFoundError: No module named 'jupyterlab'"]
    engine.next_container = {"exits_with": 1, "log_text": "\n".join(lines).encode()}

    with pytest.raises(LaunchError) as raised:
        launch(engine, IMAGE)

    message = str(raised.value)
    assert message.startswith("The container exited (code 1) before Jupyter was ready; its last log lines:\n")
    assert "No module named 'jupyterlab'" in message and "line 16" in message and "line 15\n" not in message
    assert engine.containers_by_id == {}
    assert not list(runtime_dir.glob("*.json"))


def test_a_server_that_never_answers_times_out_and_is_removed(
    engine: FakeEngine, jupyter: FakeJupyter, runtime_dir: Path
) -> None:
    jupyter.status = 503

    with pytest.raises(LaunchError, match=r"did not answer on port \d+ within 0.3 s \(HTTP 503\)"):
        launch(engine, IMAGE, timeout=0.3)

    assert engine.containers_by_id == {}
    assert not list(runtime_dir.glob("*.json"))


class InterruptWhileWaiting:
    def step(self, description: str, total: int | None = None) -> None:
        if description == "Waiting for Jupyter to answer":
            raise KeyboardInterrupt

    def advance(self, item: str = "") -> None:
        pass

    def log(self, line: str) -> None:
        pass


def test_ctrl_c_during_launch_removes_the_container_and_reraises(engine: FakeEngine, runtime_dir: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        launch(engine, IMAGE, progress=InterruptWhileWaiting())

    assert len(engine.created) == 1
    assert engine.containers_by_id == {}
    assert not list(runtime_dir.glob("*.json"))


def test_the_runtime_record_is_private_and_removed_on_stop(engine: FakeEngine, runtime_dir: Path) -> None:
    launched = launch(engine, IMAGE)

    record = runtime_dir / f"{launched.container}.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
    assert json.loads(record.read_text())["token"] == launched.token

    assert stop(engine, [launched.name]) == [launched.container]
    assert not record.exists()
    assert engine.containers_by_id == {}


def test_list_running_shows_only_envcapsule_containers_and_forgets_vanished_ones(engine: FakeEngine, runtime_dir: Path) -> None:
    launched = launch(engine, IMAGE)
    engine.add_container({"maintainer": "someone else"}, name="postgres")
    stale = runtime_dir / ("f" * 64 + ".json")
    stale.write_text(json.dumps({"token": "old"}))

    assert list_running(engine) == [launched]
    assert not stale.exists()


def test_stop_refuses_a_container_envcapsule_did_not_start_and_stops_nothing(engine: FakeEngine) -> None:
    launched = launch(engine, IMAGE)
    foreign = engine.add_container({}, name="postgres")

    with pytest.raises(ContainerError) as raised:
        stop(engine, [launched.container, "postgres"])

    assert str(raised.value) == (
        "Container postgres was not started by envcapsule, so it was left alone; "
        "stop it with `docker stop postgres` if you mean to."
    )
    assert set(engine.containers_by_id) == {launched.container, foreign.id}


def test_stop_refuses_an_unknown_container(engine: FakeEngine) -> None:
    with pytest.raises(ContainerError, match="No container nothing-here exists") as raised:
        stop(engine, ["nothing-here"])

    assert single_sentence(str(raised.value))


def test_stop_all_removes_every_envcapsule_container_even_exited_ones(engine: FakeEngine) -> None:
    first, second = launch(engine, IMAGE), launch(engine, IMAGE)
    exited = engine.add_container({"envcapsule.managed": "true"}, name="envcapsule-old", status="exited")
    foreign = engine.add_container({}, name="postgres")

    stopped = stop(engine, all=True)

    assert set(stopped) == {first.container, second.container, exited.id}
    assert set(engine.containers_by_id) == {foreign.id}
