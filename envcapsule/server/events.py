"""GET jobs/<id>/events: a job's progress and log lines as server-sent events, then one final event, then the end.

The job's worker thread wakes the stream through a listener; the stream replays the current
state first, so a client that connects late (or reconnects) misses nothing that matters.
A client that goes away is noticed (on_connection_close, or a failed write of the
keep-alive comment) and let go; the job runs on.
"""

from __future__ import annotations

import asyncio
import json

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from envcapsule.server.base import EnvcapsuleHandler
from envcapsule.server.jobs import FINAL_STATES, Job

HEARTBEAT_SECONDS = 15.0


class JobEventsHandler(EnvcapsuleHandler):
    """Server-sent events: the job's progress and log lines as they happen, then one final event, then the end."""

    _closed = False
    _wake: asyncio.Event | None = None

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = self.job(job_id)
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # no proxy buffering: events must arrive as they happen
        loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()

        def listener() -> None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop is closed: the server is stopping
                pass

        job.add_listener(listener)
        try:
            await self._stream(job, wake)
        except StreamClosedError:
            return
        finally:
            job.remove_listener(listener)
        if not self._closed:
            self.finish(set_content_type="text/event-stream")

    async def _stream(self, job: Job, wake: asyncio.Event) -> None:
        events, seq = job.replay()
        while not self._closed:
            for event in events:
                self.write(f"event: {event.name}\ndata: {json.dumps(event.data)}\n\n")
                seq = max(seq, event.seq)
                if event.name in FINAL_STATES:
                    await self.flush()
                    return
            await self.flush()
            try:
                await asyncio.wait_for(wake.wait(), HEARTBEAT_SECONDS)
            except asyncio.TimeoutError:
                self.write(": keep-alive\n\n")  # a comment: lets a dead connection show itself
            wake.clear()
            events = job.events_after(seq)

    def on_connection_close(self) -> None:
        self._closed = True
        if self._wake is not None:
            self._wake.set()
