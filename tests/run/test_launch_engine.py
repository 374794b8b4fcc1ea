"""launch, list_running and stop on the real Docker engine, with a throwaway contract-following image.

The image is built FROM the offline base image (see scripts/docker-setup) with a
stand-in `jupyter` (tests/run/fake_jupyter.py), so the container, its port publishing,
its security options and the readiness polling are all real, without JupyterLab.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from envcapsule.engine import EngineError, connect
from envcapsule.run import LaunchError, launch, list_running, stop
from tests.conftest import require
from tests.run.fake_jupyter import BASE_IMAGE, CRASHING, SERVER, SILENT, build_image, test_capsule_hash

if TYPE_CHECKING:
    from docker import DockerClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client() -> Iterator[DockerClient]:
    try:
        engine = connect()
    except EngineError as error:
        require(False, f"a running Docker engine ({error})")
    try:
        require(_has_image(engine, BASE_IMAGE), f"the offline base image {BASE_IMAGE} (run scripts/docker-setup)")
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="module")
def capsule_hash() -> str:
    """Unique per test run: every container these tests start carries it, so leftovers are easy to find."""
    return test_capsule_hash()


@pytest.fixture(scope="module")
def images(client: DockerClient, capsule_hash: str) -> Iterator[dict[str, str]]:
    built: dict[str, str] = {}
    try:
        for kind, script in (("serving", SERVER), ("crashing", CRASHING), ("silent", SILENT)):
            built[kind] = build_image(client, script, capsule_hash)
        yield built
    finally:
        for container in client.containers.list(all=True, filters={"label": f"envcapsule.capsule-hash={capsule_hash}"}):
            container.remove(force=True, v=True)
        for image_id in built.values():
            client.images.remove(image_id, force=True, noprune=False)


def leftovers(client: DockerClient, capsule_hash: str) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": f"envcapsule.capsule-hash={capsule_hash}"})]


def test_launch_answers_with_the_token_only_and_runs_locked_down(
    client: DockerClient, images: dict[str, str], capsule_hash: str
) -> None:
    launched = launch(client, images["serving"], timeout=30)
    try:
        with httpx.Client(trust_env=False) as http:
            assert http.get(launched.url).status_code == 200
            assert http.get(launched.url.split("?")[0]).status_code == 403
        assert launched.url == f"http://127.0.0.1:{launched.port}/lab/tree/analysis.ipynb?token={launched.token}"

        attrs = client.api.inspect_container(launched.container)
        host = attrs["HostConfig"]
        assert attrs["NetworkSettings"]["Ports"]["8888/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(launched.port)}]
        assert attrs["Config"]["User"] == "1000:1000"
        assert host["CapDrop"] == ["ALL"]
        assert host["SecurityOpt"] == ["no-new-privileges"]
        assert host["Init"] is True
        assert launched.token not in str(attrs["Config"]["Labels"]) + str(attrs["Config"]["Env"])

        assert launched in list_running(client)
    finally:
        assert stop(client, [launched.container]) == [launched.container]
    assert leftovers(client, capsule_hash) == []
    assert launched not in list_running(client)


def test_a_mounted_folder_is_the_notebook_folder_read_write(
    client: DockerClient, images: dict[str, str], capsule_hash: str, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # the notebook user in the container is uid 1000, not the test's user
    (folder / "analysis.ipynb").write_text('{"cells": []}')

    launched = launch(client, images["serving"], mount=folder, timeout=30)
    try:
        assert f"127.0.0.1:{launched.port}/lab/tree/work/analysis.ipynb?token=" in launched.url
        container = client.containers.get(launched.container)
        assert container.exec_run(["cat", "/home/jovyan/work/analysis.ipynb"]).output == b'{"cells": []}'
        assert container.exec_run(["sh", "-c", "echo saved > /home/jovyan/work/out.txt"]).exit_code == 0
        assert (folder / "out.txt").read_text() == "saved\n"
    finally:
        stop(client, [launched.container])
    assert leftovers(client, capsule_hash) == []


def test_a_crashing_server_reports_its_logs_and_leaves_nothing_running(
    client: DockerClient, images: dict[str, str], capsule_hash: str
) -> None:
    with pytest.raises(LaunchError) as raised:
        launch(client, images["crashing"], timeout=30)

    message = str(raised.value)
    assert message.startswith("The container exited (code 1) before Jupyter was ready; its last log lines:")
    assert "No module named 'jupyterlab'" in message
    assert leftovers(client, capsule_hash) == []


def test_a_server_that_never_answers_times_out_and_is_removed(
    client: DockerClient, images: dict[str, str], capsule_hash: str
) -> None:
    with pytest.raises(LaunchError, match=r"did not answer on port \d+ within 1 s"):
        launch(client, images["silent"], timeout=1)

    assert leftovers(client, capsule_hash) == []


def test_a_port_in_use_is_one_sentence(client: DockerClient, images: dict[str, str], capsule_hash: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(LaunchError) as raised:
            launch(client, images["serving"], port=port, timeout=30)

    assert str(raised.value) == (
        f"Port {port} on 127.0.0.1 is already in use; choose another with `--port`, "
        "or leave `--port` out to let the engine pick a free one."
    )
    assert leftovers(client, capsule_hash) == []


def test_the_token_is_in_no_process_argument_and_no_inspect_field_but_the_server_has_it(
    client: DockerClient, images: dict[str, str], capsule_hash: str
) -> None:
    launched = launch(client, images["serving"], timeout=30)
    try:
        processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
        assert "fake jupyter" in client.containers.get(launched.container).logs().decode()
        assert "/usr/local/bin/jupyter lab" in processes  # the container's server is visible to ps here...
        assert launched.token not in processes  # ...and its token is not
        attrs = client.api.inspect_container(launched.container)
        assert launched.token not in json.dumps(attrs)
        container = client.containers.get(launched.container)
        listing = container.exec_run(["stat", "-c", "%u %a", "/tmp/envcapsule/jupyter-token"], user="1000").output.decode()
        assert listing.split() == ["1000", "400"]
        with httpx.Client(trust_env=False) as http:
            assert http.get(launched.url).status_code == 200
    finally:
        stop(client, [launched.container])
    assert leftovers(client, capsule_hash) == []


class CtrlCAt:
    """A progress view whose user presses Ctrl-C when the launch reaches ``step``."""

    def __init__(self, step: str) -> None:
        self.at = step

    def step(self, description: str, total: int | None = None) -> None:
        if description == self.at:
            signal.raise_signal(signal.SIGINT)

    def advance(self, item: str = "") -> None:
        pass

    def log(self, line: str) -> None:
        if line.startswith(self.at):
            signal.raise_signal(signal.SIGINT)


@pytest.mark.parametrize("step", ["Starting the container", "Waiting for Jupyter to answer", "Jupyter answered"])
def test_ctrl_c_at_any_step_of_a_launch_leaves_no_container(
    client: DockerClient, images: dict[str, str], capsule_hash: str, step: str
) -> None:
    with pytest.raises(KeyboardInterrupt):
        launch(client, images["serving"], timeout=30, progress=CtrlCAt(step))

    assert leftovers(client, capsule_hash) == []


def _has_image(client: DockerClient, name: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(name)
    except ImageNotFound:
        return False
    return True
