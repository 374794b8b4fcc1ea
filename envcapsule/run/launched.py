"""A launched capsule container as plain data, and how its URL and port are read back."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from envcapsule.contract import NOTEBOOK_LABEL, WORK_DIR
from envcapsule.contract import PORT as JUPYTER_PORT

if TYPE_CHECKING:
    from docker.models.containers import Container


@dataclass(frozen=True)
class Launched:
    container: str
    name: str
    image: str
    url: str
    port: int
    token: str
    notebook: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def lab_url(port: int, token: str, notebook: str | None, mounted: bool = False) -> str:
    """JupyterLab's URL for the notebook (or the Lab home), with the token when known."""
    folder = "work/" if mounted else ""
    if notebook:
        path = f"/lab/tree/{quote(folder + notebook)}"
    elif mounted:
        path = "/lab/tree/work"
    else:
        path = "/lab"
    query = f"?token={token}" if token else ""
    return f"http://127.0.0.1:{port}{path}{query}"


def published_port(container: Container) -> int | None:
    """The host port the engine bound to the container's 8888, from the container's inspect data."""
    ports = container.attrs.get("NetworkSettings", {}).get("Ports") or {}
    for binding in ports.get(f"{JUPYTER_PORT}/tcp") or []:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return None


def is_mounted(container: Container) -> bool:
    return any(mount.get("Destination") == WORK_DIR for mount in container.attrs.get("Mounts") or [])


def launched_from(container: Container, token: str) -> Launched:
    """Rebuild the Launched record of a running envcapsule container (token from the host-side record)."""
    labels = container.labels
    notebook = labels.get(NOTEBOOK_LABEL) or None
    port = published_port(container) or 0
    return Launched(
        container=container.id or "",
        name=container.name or "",
        image=str(container.attrs.get("Config", {}).get("Image", "")),
        url=lab_url(port, token, notebook, is_mounted(container)),
        port=port,
        token=token,
        notebook=notebook,
    )
