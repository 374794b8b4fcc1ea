"""The token stays out of the container's command line, and Ctrl-C at any point of a launch leaves no container."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from docker.errors import NotFound

from envcapsule.contract import TOKEN_FILE
from envcapsule.run import launch
from tests.run.fake_engine import IMAGE, FakeContainer, FakeContainers, FakeEngine, FakeJupyter


def test_the_token_reaches_jupyter_through_a_file_only_uid_1000_reads(engine: FakeEngine, jupyter: FakeJupyter) -> None:
    launched = launch(engine, IMAGE)

    options = engine.created[-1]
    assert launched.token not in json.dumps(options)  # command, environment, labels: what `docker inspect` shows
    assert not any("token" in argument.lower() for argument in options["command"])
    assert options["environment"] == {"JUPYTER_TOKEN": "", "JUPYTER_TOKEN_FILE": TOKEN_FILE}
    container = engine.containers_by_id[launched.container]
    token_file = container.files[f"/{TOKEN_FILE.strip('/')}"]
    assert (token_file.uid, token_file.mode) == (1000, 0o400)
    assert container.files["/tmp/envcapsule"].mode == 0o700
    assert jupyter.token == launched.token  # the fake Jupyter answered only because it read the file


def ctrl_c() -> None:
    signal.raise_signal(signal.SIGINT)


def interrupting(method: Callable[..., Any]) -> Callable[..., Any]:
    """Ctrl-C lands while the call waits for the engine, which carries the request out all the same."""

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        ctrl_c()
        return method(self, *args, **kwargs)

    return call


@pytest.mark.parametrize("where", ["create", "put_archive", "start", "reload", "remove after another Ctrl-C"])
def test_ctrl_c_at_any_engine_call_leaves_no_container_and_no_record(
    engine: FakeEngine, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "create":
        create, get = FakeContainers.create, FakeContainers.get
        in_flight: list[FakeContainer] = []

        def create_in_flight(self: FakeContainers, image: str, **kwargs: Any) -> FakeContainer:
            container = create(self, image, **kwargs)  # the engine has the request and makes the container...
            in_flight.append(container)
            ctrl_c()  # ...while Ctrl-C lands before its id comes back
            in_flight.remove(container)
            return container

        def get_unless_in_flight(self: FakeContainers, id_or_name: str) -> FakeContainer:
            found = get(self, id_or_name)
            if found in in_flight:
                raise NotFound(f"No such container: {id_or_name}")  # not finished on the engine's side yet
            return found

        monkeypatch.setattr(FakeContainers, "create", create_in_flight)
        monkeypatch.setattr(FakeContainers, "get", get_unless_in_flight)
    elif where == "remove after another Ctrl-C":
        monkeypatch.setattr(FakeContainer, "start", interrupting(FakeContainer.start))
        monkeypatch.setattr(FakeContainer, "remove", interrupting(FakeContainer.remove))
    else:
        monkeypatch.setattr(FakeContainer, where, interrupting(getattr(FakeContainer, where)))

    with pytest.raises(KeyboardInterrupt):
        launch(engine, IMAGE)

    assert len(engine.created) == 1
    assert engine.containers_by_id == {}
    assert not list(runtime_dir.glob("*.json"))
