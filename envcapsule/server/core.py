"""The core calls behind the REST routes, as one object the extension builds once (tests swap in a fake).

Every method is a plain, blocking call into :mod:`envcapsule.api`, as the CLI and the magic make;
the handlers run them off the event loop. ``LocalCore`` adds only what a long-lived server
needs: an engine client kept between status requests, and the kernel's facts remembered
for a moment so that a sidebar polling status does not probe the interpreter each time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from envcapsule import api
from envcapsule.capsule import MANIFEST, Capsule, read_capsule
from envcapsule.engine import EngineError, connect
from envcapsule.image.build import image_tag
from envcapsule.paths import default_capsule_dir
from envcapsule.progress import Progress

if TYPE_CHECKING:
    from docker import DockerClient

    from envcapsule.facts import EnvironmentFacts
    from envcapsule.status import CapsuleStatus


class Core(Protocol):
    def status(self, notebook: Path, python: str | None) -> dict[str, Any]: ...

    def snapshot(self, notebook: Path, python: str | None, progress: Progress) -> dict[str, Any]: ...

    def build(
        self, notebook: Path, python: str | None, base_image: str | None, progress: Progress, platform: str | None = None
    ) -> dict[str, Any]: ...

    def launch(
        self,
        notebook: Path,
        python: str | None,
        base_image: str | None,
        gpus: str | None,
        progress: Progress,
        memory: str | None = None,
        cpus: float | None = None,
    ) -> dict[str, Any]: ...

    def verify(self, notebook: Path, base_image: str | None, progress: Progress) -> dict[str, Any]: ...

    def stop(self, containers: list[str]) -> list[str]: ...

    def running(self) -> api.Running: ...

    def usage(self, notebook: Path) -> dict[str, Any]: ...

    def share(self, notebook: Path) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LocalCore:
    """The envcapsule library and the Docker engine of this machine."""

    def __init__(self, *, live_cache_seconds: float = 2.0, engine_timeout: float = 3.0) -> None:
        self._engine = _EngineConnection(engine_timeout, retry_seconds=live_cache_seconds)
        self._live = _LiveFacts(live_cache_seconds)

    def status(self, notebook: Path, python: str | None) -> dict[str, Any]:
        folder = default_capsule_dir(notebook)
        capsule = read_capsule(folder, verify=False) if (folder / MANIFEST).is_file() else None
        live = self._live.facts(notebook, python) if capsule is not None else None
        status = self._status_with_engine(notebook, python, live, capsule)
        cuda = (capsule.manifest.get("cuda") or {}).get("version") if capsule is not None else None
        return {**status.to_json(), "cuda": cuda}

    def _status_with_engine(
        self, notebook: Path, python: str | None, live: EnvironmentFacts | None, capsule: Capsule | None
    ) -> CapsuleStatus:
        if capsule is None:
            return api.status(notebook, python=python, engine=False)
        reason = ""
        for _ in range(2):  # the engine may have gone away under the kept client: reconnect once to learn why
            try:
                client = self._engine.client()
            except EngineError as error:
                reason = error.message("sidebar")
                break
            try:
                return api.status(notebook, python=python, live=live, client=client)
            except _engine_failures() as error:
                self._engine.forget()
                reason = f"The Docker engine failed to answer ({error}); check it with `docker info`."
        status = api.status(notebook, python=python, live=live, engine=False)
        return replace(status, image=image_tag(capsule), engine_error=reason)

    def snapshot(self, notebook: Path, python: str | None, progress: Progress) -> dict[str, Any]:
        result = api.snapshot(notebook, python=python, progress=progress).to_json()
        result.pop("files")  # every locked file's url and hash: the capsule folder has them, the sidebar does not need them
        return result

    def build(
        self, notebook: Path, python: str | None, base_image: str | None, progress: Progress, platform: str | None = None
    ) -> dict[str, Any]:
        return api.build(notebook, python=python, base_image=base_image, platform=platform, progress=progress).to_json()

    def launch(
        self,
        notebook: Path,
        python: str | None,
        base_image: str | None,
        gpus: str | None,
        progress: Progress,
        memory: str | None = None,
        cpus: float | None = None,
    ) -> dict[str, Any]:
        launched = api.launch(
            notebook, python=python, base_image=base_image, gpus=gpus, memory=memory, cpus=cpus, progress=progress
        )
        return launched.to_json()

    def verify(self, notebook: Path, base_image: str | None, progress: Progress) -> dict[str, Any]:
        return api.verify(notebook, base_image=base_image, progress=progress).to_json()

    def stop(self, containers: list[str]) -> list[str]:
        return list(api.stop(containers).containers)

    def running(self) -> api.Running:
        """envcapsule's running containers with what each uses now (for the metrics)."""
        try:
            return api.ps(cpu_percent=False, client=self._engine.client())  # Prometheus takes the rate of the CPU seconds
        except _engine_failures() as error:
            self._engine.forget()
            raise EngineError(f"The Docker engine failed to answer ({error}); check it with `docker info`.") from error

    def usage(self, notebook: Path) -> dict[str, Any]:
        """What each container serving the notebook's capsule uses now: CPU %, memory against its limit, uptime."""
        from envcapsule.image.build import image_tag

        folder = default_capsule_dir(notebook)
        if not (folder / MANIFEST).is_file():
            return {"containers": []}
        tag = image_tag(read_capsule(folder, verify=False))
        try:
            running = api.ps(client=self._engine.client())
        except _engine_failures() as error:
            self._engine.forget()
            raise EngineError(f"The Docker engine failed to answer ({error}); check it with `docker info`.") from error
        return {
            "containers": [
                {"container": item.container, "name": item.name, "usage": running.usage[item.container].to_json()}
                for item in running.containers
                if item.image == tag and item.container in running.usage  # one that exited meanwhile is left out
            ]
        }

    def share(self, notebook: Path) -> dict[str, Any]:
        from envcapsule.share import ShareError, binder_link, gitrepo
        from envcapsule.share.binder import BINDER_DIR

        root = gitrepo.repository_root(notebook)
        binder = root / BINDER_DIR if root is not None else None
        try:
            link = binder_link(notebook, capsule=default_capsule_dir(notebook), binder=binder)
        except ShareError as error:
            return {"link": None, "badge": None, "no_link": error.message("sidebar"), "warnings": []}
        return {"link": link.link, "badge": link.badge, "no_link": None, "warnings": link.warnings}

    def close(self) -> None:
        self._engine.forget()


def _engine_failures() -> tuple[type[BaseException], ...]:
    import docker.errors
    import requests.exceptions

    return (docker.errors.DockerException, requests.exceptions.RequestException)


class _EngineConnection:
    """One engine client for status requests; after a failed connect, the same error for a moment instead of a new wait."""

    def __init__(self, timeout: float, retry_seconds: float) -> None:
        self._timeout = timeout
        self._retry_seconds = retry_seconds
        self._client: DockerClient | None = None
        self._failure: tuple[float, EngineError] | None = None
        self._lock = threading.Lock()

    def client(self) -> DockerClient:
        with self._lock:
            if self._client is not None:
                return self._client
            if self._failure is not None and time.monotonic() - self._failure[0] < self._retry_seconds:
                raise self._failure[1]
            try:
                self._client = connect(timeout=self._timeout)
            except EngineError as error:
                self._failure = (time.monotonic(), error)
                raise
            self._failure = None
            return self._client

    def forget(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


class _LiveFacts:
    """The kernel interpreter's facts, probed at most once per ``seconds`` for each interpreter."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._probed: dict[str, tuple[float, EnvironmentFacts]] = {}
        self._lock = threading.Lock()

    def facts(self, notebook: Path, python: str | None) -> EnvironmentFacts:
        from envcapsule.capture import find_kernel_python, probe_interpreter

        interpreter = str(find_kernel_python(notebook, python))
        with self._lock:
            kept = self._probed.get(interpreter)
        if kept is not None and time.monotonic() - kept[0] < self._seconds:
            return kept[1]
        facts = probe_interpreter(Path(interpreter))
        with self._lock:
            self._probed[interpreter] = (time.monotonic(), facts)
        return facts
