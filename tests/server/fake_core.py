"""A stand-in for LocalCore: records its calls; each job reports progress, then waits until the test releases it."""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from envcapsule.progress import Progress

if TYPE_CHECKING:
    from envcapsule.api import Running

RESULTS: dict[str, dict[str, Any]] = {
    "snapshot": {"capsule_hash": "c4p5", "distributions": 3, "locked": 3},
    "build": {"image": "envcapsule/analysis:c4p5", "reused": False},
    "launch": {
        "container": "c0ffee",
        "name": "envcapsule-c4p5-abc123",
        "url": "http://127.0.0.1:49153/lab/tree/analysis.ipynb?token=t0k3n",
        "image": "envcapsule/analysis:c4p5",
    },
    "verify": {"status": "reproduced", "reproduced": True, "total": 1, "message": "Reproduced 1 of 1 cells."},
}


class FakeCore:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, BaseException] = {}
        self.unwound: list[str] = []  # jobs whose core call left through an exception (the cleanup path)
        self._gates: defaultdict[str, threading.Event] = defaultdict(threading.Event)
        self._started: defaultdict[str, threading.Event] = defaultdict(threading.Event)

    # What the test drives.

    def release(self, kind: str) -> None:
        self._gates[kind].set()

    def release_all(self) -> None:
        for gate in list(self._gates.values()):
            gate.set()

    def wait_started(self, kind: str, timeout: float = 5.0) -> None:
        assert self._started[kind].wait(timeout), f"the {kind} job never started"

    # The Core protocol.

    def status(self, notebook: Path, python: str | None) -> dict[str, Any]:
        self.calls.append(("status", {"notebook": notebook, "python": python}))
        if "status" in self.failures:
            raise self.failures["status"]
        return {
            "notebook": notebook.name,
            "state": "up-to-date",
            "capsule_hash": "c4p5",
            "changes": [],
            "image": "envcapsule/analysis:c4p5",
            "image_built": None,
            "containers": [],
            "last_verify": None,
            "engine_error": "No Docker engine was found; install Docker Engine.",
            "python": "3.11.7",
            "packages": 3,
            "warnings": [],
            "cuda": None,
        }

    def snapshot(self, notebook: Path, python: str | None, progress: Progress) -> dict[str, Any]:
        return self._job("snapshot", progress, notebook=notebook, python=python)

    def build(
        self, notebook: Path, python: str | None, base_image: str | None, progress: Progress, platform: str | None = None
    ) -> dict[str, Any]:
        extra = {"platform": platform} if platform is not None else {}
        return self._job("build", progress, notebook=notebook, python=python, base_image=base_image, **extra)

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
        arguments = {
            "notebook": notebook,
            "python": python,
            "base_image": base_image,
            "gpus": gpus,
            "memory": memory,
            "cpus": cpus,
        }
        return self._job("launch", progress, **arguments)

    def verify(self, notebook: Path, base_image: str | None, progress: Progress) -> dict[str, Any]:
        return self._job("verify", progress, notebook=notebook, base_image=base_image)

    def stop(self, containers: list[str]) -> list[str]:
        self.calls.append(("stop", {"containers": containers}))
        if "stop" in self.failures:
            raise self.failures["stop"]
        return containers

    def running(self) -> Running:
        from envcapsule.api import Running
        from envcapsule.run.launched import Launched
        from envcapsule.run.usage import Usage

        self.calls.append(("running", {}))
        if "running" in self.failures:
            raise self.failures["running"]
        launched = Launched(
            "c0ffee" * 8, "envcapsule-analysis-1", "envcapsule/analysis:abc", "http://127.0.0.1:9/lab", 9, "t", "analysis.ipynb"
        )
        usage = Usage(launched.container, 12.5, 3.25, 150 * 2**20, 2**30, 2.0, "2026-01-01T00:00:00Z", 90.0)
        return Running((launched,), {launched.container: usage})

    def usage(self, notebook: Path) -> dict[str, Any]:
        self.calls.append(("usage", {"notebook": notebook}))
        if "usage" in self.failures:
            raise self.failures["usage"]
        running = self.running()
        return {
            "containers": [
                {"container": c.container, "name": c.name, "usage": running.usage[c.container].to_json()}
                for c in running.containers
            ]
        }

    def share(self, notebook: Path) -> dict[str, Any]:
        self.calls.append(("share", {"notebook": notebook}))
        return {"link": None, "badge": None, "no_link": f"{notebook.name} is not in a git repository.", "warnings": []}

    def close(self) -> None:
        self.release_all()

    def _job(self, kind: str, progress: Progress, **arguments: Any) -> dict[str, Any]:
        self.calls.append((kind, arguments))
        try:
            progress.step(f"{kind}: first step", total=2)
            progress.advance("one")
            progress.log(f"{kind}: a log line")
            self._started[kind].set()
            if kind in self.failures:
                raise self.failures[kind]
            self._gates[kind].wait(10)
            progress.advance("two")  # a cancelled job stops here, as core code does at its next report
            progress.log(f"{kind}: finished")
        except BaseException:
            self.unwound.append(kind)
            raise
        return RESULTS[kind]
