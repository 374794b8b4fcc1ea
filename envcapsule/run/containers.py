"""list_running() and stop(): envcapsule's own containers, found by label, never anyone else's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from envcapsule.contract import MANAGED_LABEL
from envcapsule.engine import engine_reason
from envcapsule.run.errors import ContainerError
from envcapsule.run.launched import Launched, launched_from
from envcapsule.run.records import read_token, recorded_ids, remove_record

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

MANAGED = {"label": f"{MANAGED_LABEL}=true"}
STOP_GRACE_SECONDS = 5


def list_running(client: DockerClient) -> list[Launched]:
    """The running containers envcapsule launched, with their URLs; stale runtime records are dropped."""
    running = client.containers.list(filters=MANAGED)
    _forget_vanished(client, {container.id or "" for container in running})
    return [launched_from(container, read_token(container.id or "")) for container in running]


def stop(client: DockerClient, ids: Sequence[str] = (), *, all: bool = False) -> list[str]:  # noqa: A002
    """Stop and remove the named containers (ids or names), or all of envcapsule's; return their ids.

    Every id is checked before anything is stopped: if one does not exist or was not
    started by envcapsule, the call is refused and nothing is stopped.
    """
    targets: dict[str, Container] = {}
    if all:
        targets.update((c.id or "", c) for c in client.containers.list(all=True, filters=MANAGED))
    for wanted in ids:
        container = _managed_container(client, wanted)
        targets.setdefault(container.id or "", container)
    for container_id, container in targets.items():
        _stop_and_remove(container)
        remove_record(container_id)
    return list(targets)


def _managed_container(client: DockerClient, wanted: str) -> Container:
    from docker.errors import NotFound

    try:
        container = client.containers.get(wanted)
    except NotFound:
        raise ContainerError(
            f"No container {wanted} exists on this Docker engine; `envcapsule ps` lists envcapsule's containers by id and name."
        ) from None
    if container.labels.get(MANAGED_LABEL) != "true":
        raise ContainerError(
            f"Container {wanted} was not started by envcapsule, so it was left alone; stop it with `docker stop {wanted}` if you mean to."
        )
    return container


def _stop_and_remove(container: Container) -> None:
    """Give Jupyter a few seconds to shut its kernels down, then remove the container and its anonymous volumes."""
    from docker.errors import APIError, NotFound

    try:
        container.stop(timeout=STOP_GRACE_SECONDS)
        container.remove(v=True, force=True)
    except NotFound:
        pass  # already gone: the goal is reached
    except APIError as error:
        raise ContainerError(
            f"The Docker engine could not stop container {container.name} ({engine_reason(error)}); "
            f"try `docker rm -f {container.name}`."
        ) from error


def _forget_vanished(client: DockerClient, running: Iterable[str]) -> None:
    """Drop runtime records whose container no longer exists on the engine."""
    from docker.errors import NotFound

    for container_id in set(recorded_ids()) - set(running):
        try:
            client.containers.get(container_id)
        except NotFound:
            remove_record(container_id)
