"""Jobs: long core calls (snapshot, build, launch, verify) run in a thread pool, off the event loop.

A plain class, no Tornado: handlers start jobs and read them; the event stream listens for
changes. Each job reports through its own Progress, which keeps the current step, a log
tail and a numbered event buffer. Cancellation is cooperative: after ``cancel()`` the job's
Progress raises JobCancelled at the core's next step/advance/log call, and the core unwinds
as it does on Ctrl-C in the CLI (containers removed, staged files dropped). At most one job
runs per key (the notebook's capsule), so a capsule is never built or rewritten twice at once.
A failed job keeps its error's sentence and, for errors a client can act on, an error code.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from envcapsule.errors import EnvcapsuleError
from envcapsule.progress import Progress

JobState = Literal["running", "done", "failed", "cancelled"]
# envcapsule.errors' codes; "gpu": the host or its engine cannot give the container a GPU, and launching with gpus "none" avoids it
ErrorCode = str
FINAL_STATES: tuple[JobState, ...] = ("done", "failed", "cancelled")
Work = Callable[[Progress], dict[str, Any]]
Listener = Callable[[], None]
LOG_TAIL = 50
EVENT_BUFFER = 1000  # a listener that falls further behind than this misses log lines, never the final event


class JobCancelled(BaseException):
    """Raised inside a cancelled job's core call; a BaseException like KeyboardInterrupt, so no ``except Exception`` swallows it."""


class JobConflict(Exception):
    """Another job is already running on the same capsule."""

    def __init__(self, running: Job) -> None:
        super().__init__(
            f"A {running.kind} job ({running.id}) is already running for the capsule of {running.path}; "
            "wait for it to finish or cancel it, then try again."
        )
        self.running = running


@dataclass(frozen=True)
class JobEvent:
    seq: int
    name: str  # progress, log, or the final state: done, failed, cancelled
    data: dict[str, Any]


class Job:
    def __init__(self, kind: str, path: str, key: str) -> None:
        self.id = secrets.token_hex(8)
        self.kind = kind
        self.path = path
        self.key = key
        self.state: JobState = "running"
        self.step = ""
        self.completed = 0
        self.total: int | None = None
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.error_code: ErrorCode | None = None
        self.started = False
        self._log: deque[str] = deque(maxlen=LOG_TAIL)
        self._events: deque[JobEvent] = deque(maxlen=EVENT_BUFFER)
        self._seq = 0
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._listeners: list[Listener] = []

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "path": self.path, "state": self.state}

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return self._json()

    def _json(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "step": self.step,
            "completed": self.completed,
            "total": self.total,
            "log": list(self._log),
            "result": self.result,
            "error": self.error,
            "error_code": self.error_code,
        }

    def cancel(self) -> None:
        self._cancel.set()
        if not self.started:  # still queued: nothing to unwind
            self.finish("cancelled")

    def replay(self) -> tuple[list[JobEvent], int]:
        """What a new listener needs first (current progress, the log tail, the end if reached) and the seq to follow from."""
        with self._lock:
            events = [JobEvent(self._seq, "progress", self._progress())]
            events += [JobEvent(self._seq, "log", {"line": line}) for line in self._log]
            if self.finished:
                events.append(JobEvent(self._seq, self.state, self._json()))
            return events, self._seq

    def events_after(self, seq: int) -> list[JobEvent]:
        with self._lock:
            return [event for event in self._events if event.seq > seq]

    def add_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    # Called from the worker thread(s) through JobProgress, and once at the end.

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled()

    def record_step(self, description: str, total: int | None) -> None:
        with self._lock:
            self.step, self.completed, self.total = description, 0, total
            self._log.append(description)
            self._emit("progress", self._progress())
            self._emit("log", {"line": description})
        self._notify()

    def record_advance(self, item: str) -> None:
        with self._lock:
            self.completed += 1
            self._emit("progress", {**self._progress(), "item": item})
        self._notify()

    def record_log(self, line: str) -> None:
        with self._lock:
            self._log.append(line)
            self._emit("log", {"line": line})
        self._notify()

    def finish(
        self,
        state: JobState,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        error_code: ErrorCode | None = None,
    ) -> None:
        with self._lock:
            if self.finished:
                return
            self.state, self.result, self.error, self.error_code = state, result, error, error_code
            self._emit(state, self._json())
        self._notify()

    def _progress(self) -> dict[str, Any]:
        return {"step": self.step, "completed": self.completed, "total": self.total}

    def _emit(self, name: str, data: dict[str, Any]) -> None:
        self._seq += 1
        self._events.append(JobEvent(self._seq, name, data))

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()


class JobProgress:
    """The Progress a job's core call reports to; raises JobCancelled once the job is cancelled."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def step(self, description: str, total: int | None = None) -> None:
        self._job.check_cancelled()
        self._job.record_step(description, total)

    def advance(self, item: str = "") -> None:
        self._job.check_cancelled()
        self._job.record_advance(item)

    def log(self, line: str) -> None:
        self._job.check_cancelled()
        self._job.record_log(line)


class JobRegistry:
    """Starts jobs in a thread pool, keeps them by id, refuses a second job on the same key."""

    def __init__(
        self,
        workers: int = 4,
        keep_finished: int = 100,
        log: logging.Logger | None = None,
        on_finish: Callable[[Job, float], None] | None = None,
    ) -> None:
        self._on_finish = on_finish  # told each job that ran, with its seconds (the metrics count them)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="envcapsule-job")
        self._jobs: dict[str, Job] = {}
        self._keep_finished = keep_finished
        self._lock = threading.Lock()
        self._log = log or logging.getLogger(__name__)

    def start(self, kind: str, path: str, key: str, work: Work) -> Job:
        with self._lock:
            running = next((job for job in self._jobs.values() if job.key == key and not job.finished), None)
            if running is not None:
                raise JobConflict(running)
            job = Job(kind, path, key)
            self._jobs[job.id] = job
            self._forget_finished()
        try:
            self._executor.submit(self._run, job, work)
        except RuntimeError:  # the pool is shut down: the server is stopping
            job.finish(
                "failed", error="The Jupyter server is shutting down, so the job was not started; start it again after a restart."
            )
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def running(self, path: str | None = None) -> list[Job]:
        with self._lock:
            return [job for job in self._jobs.values() if not job.finished and (path is None or job.path == path)]

    def shutdown(self) -> None:
        """Cancel every running job and stop taking new ones; running core calls unwind at their next report."""
        for job in self.running():
            job.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Job, work: Work) -> None:
        if job.finished:  # cancelled while queued
            return
        job.started = True
        started = time.monotonic()
        try:
            self._work(job, work)
        finally:
            if self._on_finish is not None:
                self._on_finish(job, time.monotonic() - started)

    def _work(self, job: Job, work: Work) -> None:
        try:
            result = work(JobProgress(job))
        except JobCancelled:
            job.finish("cancelled")
        except EnvcapsuleError as error:
            sentence, code = failure(error)
            job.finish("failed", error=sentence, error_code=code)
        except Exception as error:  # noqa: BLE001 - a bug must still end the job with a sentence
            self._log.exception("envcapsule %s job %s failed", job.kind, job.id)
            job.finish(
                "failed",
                error=f"The {job.kind} job failed unexpectedly ({type(error).__name__}: {error}); see the Jupyter server's log.",
            )
        else:
            job.finish("done", result=result)

    def _forget_finished(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.finished]
        for job_id in finished[: max(0, len(finished) - self._keep_finished)]:
            del self._jobs[job_id]


def failure(error: EnvcapsuleError) -> tuple[str, str]:
    """The sentence (its advice worded for the sidebar) and the stable code a failed job records for ``error``."""
    return error.message("sidebar"), error.code
