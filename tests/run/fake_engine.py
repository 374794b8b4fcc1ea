"""A fake Docker client for unit tests: just enough of containers/images to launch, list and stop.

The fake keeps the keyword arguments of every ``containers.create`` call so tests can
read the launch options, and it "publishes" the container's port on a real loopback
HTTP server (``FakeJupyter``) so that the readiness code is exercised for real.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from docker.errors import APIError, ImageNotFound, NotFound

IMAGE = "envcapsule/analysis:0123456789ab"
IMAGE_LABELS = {
    "envcapsule.capsule-hash": "0123456789abcdef" * 4,
    "envcapsule.notebook": "analysis.ipynb",
    "envcapsule.python": "3.11.2",
}


class FakeJupyter:
    """A loopback server answering /api/status: 200 for the current token, 403 otherwise, or always ``status``."""

    def __init__(self) -> None:
        self.token = ""
        self.status: int | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = fake.status or (200 if self.headers.get("Authorization") == f"token {fake.token}" else 403)
                body = json.dumps({"status": status}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @contextmanager
    def serving(self) -> Iterator[FakeJupyter]:
        self.thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()


@dataclass
class FakeImage:
    id: str
    labels: dict[str, str]


@dataclass
class FakeContainer:
    engine: FakeEngine
    id: str
    name: str
    attrs: dict[str, Any]
    log_text: bytes = b""
    exits_with: int | None = None
    start_error: APIError | None = None
    stopped_with: list[int] = field(default_factory=list)
    files: dict[str, tarfile.TarInfo] = field(default_factory=dict)  # what put_archive wrote, by absolute path

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.attrs["Config"]["Labels"])

    @property
    def status(self) -> str:
        return str(self.attrs["State"]["Status"])

    def start(self) -> None:
        if self.start_error is not None:
            raise self.start_error
        if self.exits_with is not None:
            self.attrs["State"].update(Status="exited", Running=False, ExitCode=self.exits_with)
            return
        self.attrs["State"].update(Status="running", Running=True)
        binding = self.engine.created[-1]["ports"]["8888/tcp"]
        host_port = binding[1] if binding[1] is not None else self.engine.jupyter.port
        self.attrs["NetworkSettings"]["Ports"] = {"8888/tcp": [{"HostIp": binding[0], "HostPort": str(host_port)}]}

    def put_archive(self, path: str, data: bytes) -> bool:
        """Like the engine: extract into the container's filesystem; Jupyter reads its token file at start."""
        self._check_exists()
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                target = f"{path.rstrip('/')}/{member.name}"
                self.files[target] = member
                environment = self.engine.created[-1].get("environment", {})
                if member.isfile() and target == environment.get("JUPYTER_TOKEN_FILE"):
                    stream = archive.extractfile(member)
                    self.engine.jupyter.token = stream.read().decode() if stream else ""
        return True

    def reload(self) -> None:
        self._check_exists()

    def logs(self, tail: int | str = "all") -> bytes:
        lines = self.log_text.splitlines(keepends=True)
        return b"".join(lines[-int(tail) :] if tail != "all" else lines)

    def stop(self, timeout: int = 10) -> None:
        self._check_exists()
        self.stopped_with.append(timeout)
        self.attrs["State"].update(Status="exited", Running=False)

    def remove(self, force: bool = False, v: bool = False) -> None:
        self._check_exists()
        del self.engine.containers_by_id[self.id]

    def _check_exists(self) -> None:
        if self.id not in self.engine.containers_by_id:
            raise NotFound(f"No such container: {self.id}")


class FakeContainers:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def create(self, image: str, **kwargs: Any) -> FakeContainer:
        if image not in self.engine.stored_images:
            raise ImageNotFound(f"No such image: {image}")
        self.engine.created.append(kwargs)
        self.engine.jupyter.token = ""  # until the token file is put in
        mounts = [{"Source": source, "Destination": spec["bind"]} for source, spec in kwargs.get("volumes", {}).items()]
        container = self.engine.add_container(kwargs["labels"], name=kwargs["name"], image=image, mounts=mounts, status="created")
        for key, value in self.engine.next_container.items():
            setattr(container, key, value)
        return container

    def get(self, id_or_name: str) -> FakeContainer:
        for container in self.engine.containers_by_id.values():
            if container.name == id_or_name or container.id.startswith(id_or_name):
                return container
        raise NotFound(f"No such container: {id_or_name}")

    def list(self, all: bool = False, filters: dict[str, str] | None = None) -> list[FakeContainer]:  # noqa: A002
        found = list(self.engine.containers_by_id.values())
        if not all:
            found = [c for c in found if c.status == "running"]
        if filters and "label" in filters:
            key, _, value = filters["label"].partition("=")
            found = [c for c in found if c.labels.get(key) == value]
        return found


class FakeImages:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str) -> FakeImage:
        if name not in self.engine.stored_images:
            raise ImageNotFound(f"No such image: {name}")
        return self.engine.stored_images[name]


class FakeEngine:
    """Stands in for docker.DockerClient: ``containers`` and ``images`` only."""

    def __init__(self, jupyter: FakeJupyter) -> None:
        self.jupyter = jupyter
        self.stored_images = {IMAGE: FakeImage(id="sha256:" + "ab" * 32, labels=dict(IMAGE_LABELS))}
        self.containers_by_id: dict[str, FakeContainer] = {}
        self.created: list[dict[str, Any]] = []
        self.next_container: dict[str, Any] = {}  # attributes given to the next created container
        self.containers = FakeContainers(self)
        self.images = FakeImages(self)

    def add_container(
        self,
        labels: dict[str, str],
        *,
        name: str,
        image: str = IMAGE,
        mounts: list[dict[str, str]] | None = None,
        status: str = "running",
    ) -> FakeContainer:
        container_id = secrets.token_hex(32)
        attrs = {
            "Config": {"Labels": dict(labels), "Image": image},
            "State": {"Status": status, "Running": status == "running", "ExitCode": 0},
            "NetworkSettings": {"Ports": {}},
            "Mounts": mounts or [],
        }
        container = FakeContainer(engine=self, id=container_id, name=name, attrs=attrs)
        self.containers_by_id[container_id] = container
        return container
